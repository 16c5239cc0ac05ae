package gateway

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/diggi"
)

// Kind is the agent kind a configuration file names to get a gateway.
const Kind = "gateway"

// Option keys the gateway reads from its diggi.AgentConfig.Options.
const (
	// OptArgs holds memcached command-line flags; the gateway acts on the
	// socket ones: -p, -l, -s, -a, -c, -b and -o idle_timeout,
	// maxconns_fast. The rest belong to the cache agent.
	OptArgs = "args"
	// OptListen overrides -p/-l with explicit TCP addresses,
	// comma-separated "host:port" (port 0 picks a free port; tests use it).
	OptListen = "listen"
	// OptBackend is the cache agent's Diggi address, "agent:port" (default
	// "cache:11211").
	OptBackend = "backend"
	// OptGroup names a group of gateways that share their listeners (see
	// group.go): gateways of one instance with the same group must have
	// the same args, listen and backend options, and -c counts the group.
	// The group is named after its leader, the gateway whose agent name it
	// is; without OptGroup a gateway leads a group of its own.
	OptGroup = "group"
)

// DefaultBackend is the cache agent address used when OptBackend is unset.
const DefaultBackend = "cache:11211"

// ErrOptions marks a gateway configuration that cannot work.
var ErrOptions = errors.New("gateway: bad options")

type gatewaySettings struct {
	listen      []string // "tcp" addresses
	unixSocket  string
	unixMask    uint32
	connLimit   int
	backlog     int
	idleTimeout time.Duration
	fastReject  bool
	backend     string
	relay       string // config.RelayEpoll or config.RelayGoroutine (-o relay)
}

func parseOptions(o diggi.Options) (gatewaySettings, error) {
	var gs gatewaySettings
	set, err := config.Parse(strings.Fields(o.String(OptArgs, "")))
	if err != nil {
		return gs, fmt.Errorf("%w: %s=%q: %w", ErrOptions, OptArgs, o.String(OptArgs, ""), err)
	}
	gs = gatewaySettings{
		unixSocket:  set.UnixSocket,
		unixMask:    uint32(set.UnixMask),
		connLimit:   set.ConnLimit,
		backlog:     set.ListenBacklog,
		idleTimeout: set.Extended.IdleTimeout,
		fastReject:  set.Extended.MaxConnsFast,
		backend:     o.String(OptBackend, DefaultBackend),
		relay:       set.Extended.Relay,
	}
	if l := o.String(OptListen, ""); l != "" {
		gs.unixSocket = ""
		gs.listen = strings.Split(l, ",")
		return gs, nil
	}
	if gs.unixSocket == "" {
		if set.Port == 0 {
			return gs, fmt.Errorf("%w: nothing to listen on: -p 0 disables TCP and no -s unix socket was given", ErrOptions)
		}
		if gs.listen, err = set.ListenAddrs(); err != nil {
			return gs, fmt.Errorf("%w: %w", ErrOptions, err)
		}
	}
	return gs, nil
}
