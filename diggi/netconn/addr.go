package netconn

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/securecached/securecached/diggi"
)

// Network is the network name of Diggi socket addresses.
const Network = "diggi"

// Addr is a socket address inside a Diggi deployment: an agent and a port.
type Addr struct {
	Agent diggi.AgentID
	Name  string // the agent's "instance/agent" name, when known
	Port  uint16
}

// Network implements net.Addr.
func (a Addr) Network() string { return Network }

// String implements net.Addr: "name:port", or "instance/agent-id:port"
// numerically when the name is unknown.
func (a Addr) String() string {
	host := a.Name
	if host == "" {
		host = a.Agent.String()
	}
	return host + ":" + strconv.Itoa(int(a.Port))
}

// ParseAddress splits "agent:port" (agent being a name, "instance/name", or
// a numeric "instance/agent" id).
func ParseAddress(address string) (host string, port uint16, err error) {
	i := strings.LastIndexByte(address, ':')
	if i <= 0 {
		return "", 0, fmt.Errorf("diggi address %q: want agent:port", address)
	}
	p, err := strconv.ParseUint(address[i+1:], 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("diggi address %q: port: %w", address, err)
	}
	return address[:i], uint16(p), nil
}

// resolve finds the agent named by host.
func resolve(dir *diggi.Directory, host string) (diggi.Info, error) {
	if info, ok := dir.Lookup(host); ok {
		return info, nil
	}
	if id, err := diggi.ParseAgentID(host); err == nil {
		if info, ok := dir.ByID(id); ok {
			return info, nil
		}
	}
	return diggi.Info{}, &net.OpError{Op: "dial", Net: Network, Err: fmt.Errorf("agent %q: %w", host, diggi.ErrUnknownAgent)}
}
