package cacheagent

import (
	"errors"
	"fmt"
	"strings"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/diggi"
)

// Kind is the agent kind a configuration file names to get a cache agent.
const Kind = "securecached"

// DefaultPort is the Diggi port the cache agent listens on unless the
// "port" option says otherwise; memcached's TCP port, for recognition.
const DefaultPort = 11211

// Option keys the cache agent reads from its diggi.AgentConfig.Options.
const (
	// OptArgs holds memcached command-line flags ("-m 64 -I 2m -o
	// hashpower=20"), parsed exactly as securecached's command line is. The
	// flags about sockets (-p, -l, -s, -c, -b) belong to the gateway and are
	// ignored here.
	OptArgs = "args"
	// OptPort is the Diggi port to listen on (default DefaultPort).
	OptPort = "port"
	// OptTLS serves TLS on the port (memcached's -Z), terminated inside the
	// agent. It is an alternative to -Z in OptArgs.
	OptTLS = "tls"
)

// ErrOptions marks an agent configuration that cannot work.
var ErrOptions = errors.New("cacheagent: bad options")

// agentSettings is what the agent's options resolve to.
type agentSettings struct {
	set  config.Settings
	port uint16
	tls  bool
}

func parseOptions(o diggi.Options) (agentSettings, error) {
	var as agentSettings
	args := strings.Fields(o.String(OptArgs, ""))
	set, err := config.Parse(args)
	if err != nil {
		return as, fmt.Errorf("%w: %s=%q: %w", ErrOptions, OptArgs, o.String(OptArgs, ""), err)
	}
	if set.ShowHelp || set.ShowVersion {
		return as, fmt.Errorf("%w: %s may not contain -h or -V", ErrOptions, OptArgs)
	}
	port, err := o.Int(OptPort, DefaultPort)
	if err != nil {
		return as, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	if port <= 0 || port > 65535 {
		return as, fmt.Errorf("%w: port %d out of range 1..65535", ErrOptions, port)
	}
	tls, err := o.Bool(OptTLS, false)
	if err != nil {
		return as, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	as.set, as.port, as.tls = set, uint16(port), tls || set.EnableSSL
	return as, nil
}

// Options builds the agent options for settings that were already parsed
// (securecached's own command line): the flags travel as OptArgs so a
// configuration file and the command line take the same path.
func Options(args []string, port uint16, tls bool) diggi.Options {
	o := diggi.Options{OptArgs: strings.Join(args, " "), OptPort: fmt.Sprint(port)}
	if tls {
		o[OptTLS] = "true"
	}
	return o
}
