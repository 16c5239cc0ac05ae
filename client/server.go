package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// server is one configured server: its connection pool and its health.
type server struct {
	cfg ServerConfig
	cl  *Client

	dialMu sync.Mutex // one dial at a time, so the pool never exceeds its limit

	mu        sync.Mutex
	conns     []*conn
	failures  int       // consecutive
	deadUntil time.Time // zero when alive
	backoff   time.Duration
	closed    bool
}

// dead reports whether the server is being left alone at time now.
func (s *server) dead(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Before(s.deadUntil)
}

// getConn returns a connection for one request: an idle one, a new one
// while under the limit, else the least busy (the request is pipelined
// behind the others).
func (s *server) getConn(ctx context.Context) (*conn, error) {
	if c, err := s.pooled(); c != nil || err != nil {
		return c, err
	}
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	// Look again: another caller may have dialed while we waited, and its
	// connection may be idle or have filled the pool. Taking any live
	// connection here instead would keep a busy pool at one connection.
	if c, err := s.pooled(); c != nil || err != nil {
		return c, err
	}
	// Made before dialing, so a failure opens no socket; it is the
	// client's own, so it does not count against the server.
	tc, err := tlsConfig(&s.cl.cfg, s.cfg.Addr)
	if err != nil {
		return nil, err
	}
	c, err := dialConn(ctx, &s.cl.cfg, s, tc)
	if err != nil {
		// An extra connection the server refused (at its -c limit, say)
		// says nothing against the one it is serving: pipeline there.
		if live := s.leastBusy(); live != nil {
			return live, nil
		}
		s.failure(err)
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		go c.close()
		return nil, ErrClosed
	}
	s.conns = append(s.conns, c)
	return c, nil
}

// pooled returns a pooled connection to use, or nil when a new one should
// be dialed: an idle connection, else the least busy once the pool is full.
func (s *server) pooled() (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if time.Now().Before(s.deadUntil) {
		return nil, fmt.Errorf("%w: %s (retry after %s)", ErrServerDead, s.cfg.Addr, s.deadUntil.Format(time.TimeOnly))
	}
	live := s.conns[:0]
	for _, c := range s.conns {
		if !c.broken() {
			live = append(live, c)
		}
	}
	clear(s.conns[len(live):])
	s.conns = live
	best := s.leastBusyLocked()
	if best != nil && (best.inflight.Load() == 0 || len(s.conns) >= s.cl.cfg.MaxConnsPerServer) {
		return best, nil
	}
	return nil, nil
}

// leastBusy returns the live connection with the fewest requests in
// flight, or nil.
func (s *server) leastBusy() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leastBusyLocked()
}

func (s *server) leastBusyLocked() *conn {
	var best *conn
	for _, c := range s.conns {
		if c.broken() {
			continue
		}
		if best == nil || c.inflight.Load() < best.inflight.Load() {
			best = c
		}
	}
	return best
}

// failure counts a failed request or dial; enough in a row mark the server
// dead for a backoff that doubles each time it is marked again.
func (s *server) failure(err error) {
	if errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) {
		return // the caller gave up or closed us; the server did nothing wrong
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures++
	if s.failures < s.cl.cfg.FailureLimit {
		return
	}
	if s.backoff == 0 {
		s.backoff = s.cl.cfg.RetryBackoff
	} else {
		s.backoff = min(2*s.backoff, s.cl.cfg.MaxBackoff)
	}
	s.deadUntil = time.Now().Add(s.backoff)
	s.failures = 0
	for _, c := range s.conns {
		c.fail(fmt.Errorf("%w: %s", ErrServerDead, s.cfg.Addr))
	}
}

// success resets the failure count and the backoff.
func (s *server) success() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = 0
	s.backoff = 0
}

func (s *server) close() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}
