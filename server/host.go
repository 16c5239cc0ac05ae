package server

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/securecached/securecached/conn"
)

// host answers the connections' questions about the server. Its methods run
// under the cache's baton (inside Session.Input/Resume), so they must not
// wait for it; they take only Server.mu, which is never held while waiting
// for the baton.
type host struct{ s *Server }

var _ conn.Host = (*host)(nil)

// reservedFds mirrors memcached's count of descriptors kept back from -c.
const reservedFds = 20

func (h *host) ServerStats() conn.ServerStats {
	s := h.s
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	curr := uint64(max(s.curr.Load(), 0)) + uint64(len(s.listeners))
	return conn.ServerStats{
		Pid:                  os.Getpid(),
		Libevent:             runtime.Version(), // no libevent here; the Go runtime plays its part
		PointerSize:          strconv.IntSize,
		RusageUser:           time.Duration(ru.Utime.Nano()),
		RusageSystem:         time.Duration(ru.Stime.Nano()),
		MaxConnections:       uint64(s.set.ConnLimit),
		CurrConnections:      curr,
		TotalConnections:     s.total.Load() + uint64(len(s.listeners)),
		RejectedConnections:  s.rejected.Load(),
		ConnectionStructures: curr,
		ReservedFds:          reservedFds,
		AcceptingConns:       true,
		Threads:              s.set.Threads,
	}
}

func (h *host) ServerSettings() conn.ServerSettings {
	set := &h.s.set
	inter, sock := "NULL", "NULL"
	if set.UnixSocket != "" {
		sock = set.UnixSocket
	} else {
		inter = strings.Join(set.Listen, ",")
	}
	return conn.ServerSettings{
		MaxConns:      set.ConnLimit,
		TCPPort:       set.Port,
		UDPPort:       set.UDPPort,
		Inter:         inter,
		Verbosity:     uint32(h.s.log.verbosity()),
		DomainSocket:  sock,
		Umask:         int(set.UnixMask),
		NumThreads:    set.Threads,
		NumThreadsUDP: set.Threads,
		TCPBacklog:    set.ListenBacklog,
		MaxconnsFast:  set.Extended.MaxConnsFast,
		IdleTimeout:   int(set.Extended.IdleTimeout / time.Second),
	}
}

func (h *host) Conns() []conn.ConnInfo {
	s := h.s
	now := s.cache.engine.Now()
	var out []conn.ConnInfo
	for i, l := range s.listeners {
		out = append(out, conn.ConnInfo{ID: i, Addr: addrString(l.Addr()), State: "conn_listening"})
	}
	base := len(s.listeners)
	s.mu.Lock()
	clients := make([]conn.ConnInfo, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, conn.ConnInfo{
			ID:               base + int(c.id),
			Addr:             c.remote,
			ListenAddr:       c.local,
			State:            c.sess.State(),
			SecsSinceLastCmd: int64(now.Sub(c.sess.LastCmd()) / time.Second),
		})
	}
	s.mu.Unlock()
	sort.Slice(clients, func(i, j int) bool { return clients[i].ID < clients[j].ID })
	return append(out, clients...)
}

func (h *host) Authenticate(user, password []byte) bool {
	return h.s.auth != nil && h.s.auth.check(user, password)
}

// Shutdown runs the server's shutdown on another goroutine: we are inside
// the baton here, and shutting down closes connections whose goroutines
// may be waiting for it.
func (h *host) Shutdown(graceful bool) { go h.s.Shutdown() }

func (h *host) SetVerbosity(level uint32) { h.s.log.set(level) }
