package client

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer listens on loopback and runs serve for each connection
// accepted; at cleanup it stops listening, closes the connections still
// open and waits for serve to return.
func fakeServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { serve(c) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// silentServer accepts connections and reads requests but never answers,
// like a hung cache.
func silentServer(t *testing.T) string {
	return fakeServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestTimeoutsMarkServerDead: FailureLimit timeouts in a row mark the
// server dead, and a dead server is refused without being contacted: no
// dial, no request, so no timeout to wait for (counted, not timed).
func TestTimeoutsMarkServerDead(t *testing.T) {
	addr := silentServer(t)
	for _, p := range []Protocol{Binary, Text} {
		t.Run(p.String(), func(t *testing.T) {
			var dials, writes atomic.Int32
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				var d net.Dialer
				nc, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return countingConn{nc, &writes}, nil
			}
			c := newClient(t, Config{Servers: []ServerConfig{{Addr: addr}}, Protocol: p, Dial: dial,
				Timeout: 100 * time.Millisecond, FailureLimit: 2, RetryBackoff: time.Minute})
			for i := range 2 {
				if _, err := c.Get(context.Background(), "k"); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("get %d: %v, want a deadline error", i, err)
				}
			}
			d, w := dials.Load(), writes.Load()
			if d == 0 || w < 2 {
				t.Fatalf("%d dials, %d writes for two timed-out gets", d, w)
			}
			// Sent, this get could only end in a deadline error: the
			// server never answers.
			if _, err := c.Get(context.Background(), "k"); !errors.Is(err, ErrServerDead) {
				t.Fatalf("third get: %v, want ErrServerDead", err)
			}
			if p, err := c.GetAsync(context.Background(), "k"); !errors.Is(err, ErrServerDead) {
				t.Fatalf("GetAsync to a dead server: %v, %v, want ErrServerDead before sending", p, err)
			}
			if dials.Load() != d || writes.Load() != w {
				t.Errorf("the dead server was contacted: %d dials, %d writes, before %d, %d", dials.Load(), writes.Load(), d, w)
			}
		})
	}
}

// TestDeadServerIsRetriedAfterBackoff: once the backoff passes the server
// is tried again, and failing again doubles the backoff.
func TestDeadServerIsRetriedAfterBackoff(t *testing.T) {
	addr := silentServer(t)
	// A backoff far longer than the test, whose end the test brings
	// forward: no outcome depends on how fast the machine is.
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: addr}}, Timeout: 50 * time.Millisecond,
		FailureLimit: 1, RetryBackoff: time.Hour, MaxBackoff: 4 * time.Hour})
	get := func() error { _, err := c.Get(context.Background(), "k"); return err }
	if err := get(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first get: %v", err)
	}
	if err := get(); !errors.Is(err, ErrServerDead) {
		t.Fatalf("during backoff: %v", err)
	}
	s := c.servers[0]
	s.mu.Lock()
	s.deadUntil = time.Now().Add(-time.Millisecond) // the backoff has passed
	s.mu.Unlock()
	if err := get(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after backoff the server should be tried again: %v", err)
	}
	s.mu.Lock()
	backoff := s.backoff
	s.mu.Unlock()
	if backoff != 2*time.Hour {
		t.Errorf("backoff = %v, want doubled to 2h", backoff)
	}
}

// TestCancelledCallDoesNotCountAgainstServer: a caller giving up is not the
// server's fault.
func TestCancelledCallDoesNotCountAgainstServer(t *testing.T) {
	addr := silentServer(t)
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: addr}}, FailureLimit: 1, RetryBackoff: time.Minute})
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		p, err := c.GetAsync(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait: %v", err)
		}
	}
	if c.servers[0].dead(time.Now()) {
		t.Error("server marked dead by cancelled calls")
	}
}

func TestClosedClient(t *testing.T) {
	addr := silentServer(t)
	c, err := New(Config{Servers: []ServerConfig{{Addr: addr}}})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Get(context.Background(), "k"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}
