package conn

import (
	"testing"
	"time"

	"github.com/securecached/securecached/memcache"
)

// fakeHost records what connections ask of the server.
type fakeHost struct {
	users     map[string]string
	shutdowns []bool
	verbosity uint32
	conns     []ConnInfo
}

func (h *fakeHost) ServerStats() ServerStats {
	return ServerStats{Pid: 42, Libevent: "2.1.12-stable", PointerSize: 64, MaxConnections: 1024,
		CurrConnections: 2, TotalConnections: 3, ConnectionStructures: 3, ReservedFds: 20,
		AcceptingConns: true, Threads: 4, RusageUser: 1500 * time.Microsecond}
}

func (h *fakeHost) ServerSettings() ServerSettings {
	return ServerSettings{MaxConns: 1024, TCPPort: 11211, Inter: "127.0.0.1", Verbosity: h.verbosity,
		Umask: 0o700, NumThreads: 4, NumThreadsUDP: 4, TCPBacklog: 1024, MaxconnsFast: true}
}

func (h *fakeHost) Conns() []ConnInfo { return h.conns }

func (h *fakeHost) Authenticate(user, password []byte) bool {
	p, ok := h.users[string(user)]
	return ok && p == string(password)
}

func (h *fakeHost) Shutdown(graceful bool) { h.shutdowns = append(h.shutdowns, graceful) }

func (h *fakeHost) SetVerbosity(level uint32) { h.verbosity = level }

var epoch = time.Unix(1795690000, 0)

func newCache(t testing.TB, mut func(*memcache.Config)) *memcache.Cache {
	t.Helper()
	cfg := memcache.DefaultConfig()
	if mut != nil {
		mut(&cfg)
	}
	c, err := memcache.New(cfg, epoch)
	if err != nil {
		t.Fatalf("memcache.New: %v", err)
	}
	return c
}

// drain sends everything c has to send, as a host does (Output until it
// is empty), and returns it.
func drain(c *Conn) []byte {
	var out []byte
	for o := c.Output(); len(o) > 0; o = c.Output() {
		out = append(out, o...)
		c.Sent(len(o))
	}
	return out
}

// rig is one connection on a fresh cache.
type rig struct {
	cache  *memcache.Cache
	host   *fakeHost
	shared *Shared
	conn   *Conn
}

func newRig(t testing.TB, set Settings) *rig {
	r := &rig{cache: newCache(t, nil), host: &fakeHost{users: map[string]string{"alice": "secret"}}, shared: &Shared{}}
	r.conn = New(r.cache, r.host, r.shared, set)
	return r
}

// run feeds in (in chunks of size split, 0 = all at once), processes until
// no yield is pending, and returns everything the connection sent.
func (r *rig) run(in string, split int) string {
	var out []byte
	feed := func(b []byte) {
		more := r.conn.Feed(b)
		for {
			out = append(out, drain(r.conn)...)
			if !more {
				return
			}
			more = r.conn.Process()
		}
	}
	data := []byte(in)
	if split <= 0 {
		split = len(data)
	}
	for i := 0; i < len(data); i += split {
		feed(data[i:min(i+split, len(data))])
	}
	if len(data) == 0 {
		feed(nil)
	}
	return string(out)
}
