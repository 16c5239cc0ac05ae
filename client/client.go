package client

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/securecached/securecached/ketama"
)

// Client talks to a set of memcached servers over the binary protocol. It is
// safe for concurrent use.
type Client struct {
	cfg     Config
	servers []*server

	mu     sync.Mutex
	routes map[routeKey]*route // pickers by (sensitive, live set)
	closed bool
}

type routeKey struct {
	sensitive bool
	live      string // one byte per server: 1 when live
}

// route is a picker over a subset of servers, with indexes mapped back.
type route struct {
	picker ketama.Picker
	index  []int
}

// New returns a client for cfg's servers. It dials lazily.
func New(cfg Config) (*Client, error) {
	if len(cfg.Servers) == 0 {
		return nil, ErrNoServers
	}
	if cfg.TLS != nil && cfg.NewTLS != nil {
		return nil, errors.New("memcache: Config.TLS and Config.NewTLS are both set; set one (NewTLS for a configuration per connection)")
	}
	c := &Client{cfg: cfg.withDefaults(), routes: map[routeKey]*route{}}
	seen := map[string]bool{}
	for _, sc := range cfg.Servers {
		if sc.Weight == 0 {
			sc.Weight = 1
		}
		if seen[sc.Addr] {
			return nil, fmt.Errorf("memcache: server %s listed twice", sc.Addr)
		}
		seen[sc.Addr] = true
		c.servers = append(c.servers, &server{cfg: sc, cl: c})
	}
	// Build the full routes now so a bad address fails here, not on first use.
	if _, err := c.routeFor(false, time.Now()); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes every connection. Calls after Close fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	for _, s := range c.servers {
		s.close()
	}
	return nil
}

// routeFor returns the picker for normal or sensitive keys over the servers
// that are live now (all servers unless Rehash is on).
func (c *Client) routeFor(sensitive bool, now time.Time) (*route, error) {
	live := make([]byte, len(c.servers))
	for i, s := range c.servers {
		if (!sensitive || s.cfg.Trusted) && (!c.cfg.Rehash || !s.dead(now)) {
			live[i] = 1
		}
	}
	key := routeKey{sensitive: sensitive, live: string(live)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if r, ok := c.routes[key]; ok {
		return r, nil
	}
	r := &route{}
	var list []ketama.Server
	for i, s := range c.servers {
		if live[i] == 1 {
			r.index = append(r.index, i)
			list = append(list, ketama.Server{Addr: s.cfg.Addr, Weight: s.cfg.Weight})
		}
	}
	if len(list) == 0 {
		if sensitive {
			if !slices.ContainsFunc(c.servers, func(s *server) bool { return s.cfg.Trusted }) {
				return nil, ErrNoTrustedServer
			}
			// Untrusted servers may be live, but a sensitive key never
			// moves to them: rehashing stops at the trusted set.
			return nil, fmt.Errorf("%w: every trusted server is marked dead", ErrNoLiveServers)
		}
		return nil, ErrNoLiveServers
	}
	var err error
	switch c.cfg.Distribution {
	case Modulo:
		r.picker, err = ketama.NewModulo(len(list), c.cfg.Hash)
	case KetamaUnweighted:
		r.picker, err = ketama.NewRingUnweighted(list, c.cfg.Hash)
	default:
		r.picker, err = ketama.NewRing(list)
	}
	if err != nil {
		return nil, fmt.Errorf("memcache: %w", err)
	}
	if len(c.routes) > 64 { // live sets churn while servers flap; keep the cache small
		clear(c.routes)
	}
	c.routes[key] = r
	return r, nil
}

// pick returns the server for key.
func (c *Client) pick(key string, o callOptions) (*server, error) {
	if err := checkKey(key, c.cfg.Protocol); err != nil {
		return nil, err
	}
	r, err := c.routeFor(o.sensitive, time.Now())
	if err != nil {
		if o.sensitive {
			return nil, fmt.Errorf("%w (sensitive key %q)", err, key)
		}
		return nil, err
	}
	return c.servers[r.index[r.picker.Pick([]byte(key))]], nil
}

// checkKey enforces memcached's key rules: 1 to 250 bytes, and for the
// ASCII protocols no spaces or control characters, which would split or end
// the command line.
func checkKey(key string, p Protocol) error {
	if len(key) == 0 || len(key) > 250 {
		return ErrMalformedKey
	}
	if p != Binary {
		for i := 0; i < len(key); i++ {
			if key[i] <= ' ' || key[i] == 0x7f {
				return ErrMalformedKey
			}
		}
	}
	return nil
}

// ServerFor returns the address that holds key (for tests and tools).
func (c *Client) ServerFor(key string, opts ...CallOption) (string, error) {
	s, err := c.pick(key, collect(opts))
	if err != nil {
		return "", err
	}
	return s.cfg.Addr, nil
}

// CallOption modifies one call.
type CallOption func(*callOptions)

type callOptions struct {
	sensitive bool
}

// Sensitive marks the call's key as sensitive (thesis §6.2.2): it is only
// ever sent to servers marked Trusted, and the call fails with
// ErrNoTrustedServer when there is none. With Rehash, a sensitive key
// moves only among trusted servers: when all of them are marked dead the
// call fails with ErrNoLiveServers, even while untrusted servers are live.
// Reads and deletes of a sensitive key must say Sensitive too, so they
// look where the write went.
func Sensitive() CallOption { return func(o *callOptions) { o.sensitive = true } }

func collect(opts []CallOption) callOptions {
	var o callOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}
