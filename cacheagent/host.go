package cacheagent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/internal/proctime"
)

// host answers the state machines' questions about the server. Its methods
// run inside Feed/Process, i.e. under the agent's baton.
type host struct{ a *Agent }

var (
	_ conn.Host   = (*host)(nil)
	_ conn.Tracer = (*host)(nil)
)

// reservedFds mirrors memcached's count of descriptors kept back from -c.
const reservedFds = 20

func (h *host) ServerStats() conn.ServerStats {
	a := h.a
	user, system, _ := proctime.Times() // zero if the system will not say
	// As memcached's: curr_connections counts clients, while
	// total_connections and connection_structures (the most connections
	// ever open at once) count the listener too.
	curr := uint64(max(a.curr.Load(), 0))
	gw := h.gateways()
	return conn.ServerStats{
		Pid:                  os.Getpid(),
		Libevent:             runtime.Version(), // Diggi's event framework plays libevent's part
		PointerSize:          strconv.IntSize,
		RusageUser:           user,
		RusageSystem:         system,
		MaxConnections:       uint64(a.as.set.ConnLimit),
		CurrConnections:      curr,
		TotalConnections:     a.total.Load() + 1,
		ConnectionStructures: uint64(a.peak) + 1,
		ReservedFds:          reservedFds,
		AcceptingConns:       true,
		Threads:              gw.Relays,
		RejectedConnections:  gw.Rejected,
		IdleKicks:            gw.IdleKicks,
	}
}

// gateways returns the counters of the gateways relaying to this agent;
// threads falls back to -t where no gateway reports.
func (h *host) gateways() GatewayStats {
	var gw GatewayStats
	if f := h.a.hooks.Gateways; f != nil {
		gw = f(h.a.ctx.Info().Name)
	}
	if gw.Relays == 0 {
		gw.Relays = h.a.as.set.Threads
	}
	return gw
}

func (h *host) ServerSettings() conn.ServerSettings {
	set := &h.a.as.set
	x := &set.Extended
	inter, sock := "NULL", "NULL"
	if set.UnixSocket != "" {
		sock = set.UnixSocket
	} else if len(set.Listen) > 0 {
		inter = set.Listen[0]
		for _, l := range set.Listen[1:] {
			inter += "," + l
		}
	}
	return conn.ServerSettings{
		MaxConns:      set.ConnLimit,
		TCPPort:       set.Port,
		UDPPort:       set.UDPPort,
		Inter:         inter,
		Verbosity:     h.a.verbosity.Load(),
		DomainSocket:  sock,
		Umask:         int(set.UnixMask),
		NumThreads:    h.gateways().Relays,
		NumThreadsUDP: h.gateways().Relays,
		TCPBacklog:    set.ListenBacklog,
		MaxconnsFast:  set.Extended.MaxConnsFast,
		IdleTimeout:   int(set.Extended.IdleTimeout / time.Second),
		HashPowerInit: set.Extended.HashPower,
		SSLEnabled:    h.a.tlsConfig != nil,
		SSL: conn.SSLSettings{
			ChainCert: x.SSLChainCert, Key: x.SSLKey, CACert: x.SSLCACert, Ciphers: x.SSLCiphers,
			KeyFormat:  1, // PEM, the only format accepted
			VerifyMode: x.SSLVerifyMode, MinVersion: x.SSLMinVersion, WBufSize: x.SSLWBufSize,
			SessionCache: x.SSLSessionCache, KernelTLS: x.SSLKernelTLS,
		},
	}
}

// Conns lists the listener and the sessions. A session's addresses are
// those its gateway declared for the client (posix.Origin), as memcached
// shows them; a peer that declared none (an agent speaking to the cache
// directly) is shown by its Diggi address. The listener is this agent's
// own Diggi socket.
func (h *host) Conns() []conn.ConnInfo {
	a := h.a
	now := a.engine.Now()
	self := "diggi:" + a.localAddr().String()
	out := []conn.ConnInfo{{ID: 0, Addr: self, State: "conn_listening"}}
	var list []conn.ConnInfo
	add := func(id, fd int, c *conn.Conn) {
		info := conn.ConnInfo{
			ID: id, Addr: "diggi:", ListenAddr: self, State: c.State(),
			SecsSinceLastCmd: int64(now.Sub(c.LastCmd()) / time.Second),
		}
		if o, err := a.sys.Origin(fd); err == nil && o.Peer != "" {
			info.Addr, info.ListenAddr = o.Peer, o.Local
		} else if id, port, err := a.sys.PeerName(fd); err == nil {
			info.Addr += netconn.Addr{Agent: id, Port: port}.String()
		}
		list = append(list, info)
	}
	for fd, s := range a.sessions {
		if s.c != nil {
			add(s.id, fd, s.c)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return append(out, list...)
}

func (h *host) Authenticate(user, password []byte) bool {
	return h.a.auth != nil && h.a.auth.check(user, password)
}

// Shutdown hands "shutdown" to the process outside the baton: stopping the
// instance stops this agent, which needs the baton.
func (h *host) Shutdown(graceful bool) {
	if f := h.a.hooks.Shutdown; f != nil {
		go f(graceful)
	}
}

func (h *host) SetVerbosity(level uint32) {
	level = min(level, 3)
	h.a.verbosity.Store(level)
	if h.a.hooks.Verbosity != nil {
		h.a.hooks.Verbosity(h.a.ctx.Info().Name, level)
	}
}

// Tracing: at -vv memcached echoes every request and reply. A logger
// that drops Info records (its level was fixed at a lower -v when the
// process started) would discard the lines, so they are not made. A
// trusted agent never echoes: the log is outside the enclave, and the
// lines carry keys and values (see contentLogging).
func (h *host) Tracing() bool {
	return h.a.contentLogging() && h.a.verbosity.Load() >= 2 && h.a.ctx.Log().Enabled(context.Background(), slog.LevelInfo)
}

// Trace logs one line of the conversation as memcached prints it, the
// whole line as the message, like logConn.
func (h *host) Trace(id int, kind conn.TraceKind, line []byte) {
	var msg string
	switch kind {
	case conn.TraceIn:
		msg = fmt.Sprintf("<%d %s", id, line)
	case conn.TraceOut:
		msg = fmt.Sprintf(">%d %s", id, line)
	case conn.TraceNote:
		msg = fmt.Sprintf("%d: %s", id, line)
	default:
		msg = string(line)
	}
	h.a.ctx.Log().Info(msg)
}

// announce tells a new connection its client's address, as the gateway
// declared it (posix.Origin), for watch's connevents lines.
func (a *Agent) announce(c *conn.Conn, fd int) {
	o, err := a.sys.Origin(fd)
	if err != nil || o.Peer == "" {
		c.Opened("diggi", 0, "local") // an agent speaking to the cache directly
		return
	}
	network, addr, _ := strings.Cut(o.Peer, ":")
	if network != "tcp" {
		c.Opened("unix", 0, "local")
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		c.Opened(addr, 0, "tcp")
		return
	}
	p, _ := strconv.Atoi(port)
	c.Opened(host, p, "tcp")
}
