package client

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// silentServer accepts connections and reads requests but never answers,
// like a hung cache.
func silentServer(t *testing.T) string {
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
			wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
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

func TestTimeoutsMarkServerDead(t *testing.T) {
	addr := silentServer(t)
	for _, p := range []Protocol{Binary, Text} {
		t.Run(p.String(), func(t *testing.T) {
			c := newClient(t, Config{Servers: []ServerConfig{{Addr: addr}}, Protocol: p,
				Timeout: 100 * time.Millisecond, FailureLimit: 2, RetryBackoff: time.Minute})
			for i := range 2 {
				if _, err := c.Get(context.Background(), "k"); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("get %d: %v, want a deadline error", i, err)
				}
			}
			start := time.Now()
			if _, err := c.Get(context.Background(), "k"); !errors.Is(err, ErrServerDead) {
				t.Fatalf("third get: %v, want ErrServerDead", err)
			}
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Errorf("dead server took %v to refuse", d)
			}
		})
	}
}

// TestDeadServerIsRetriedAfterBackoff: once the backoff passes the server
// is tried again, and failing again doubles the backoff.
func TestDeadServerIsRetriedAfterBackoff(t *testing.T) {
	addr := silentServer(t)
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: addr}}, Timeout: 50 * time.Millisecond,
		FailureLimit: 1, RetryBackoff: 200 * time.Millisecond})
	get := func() error { _, err := c.Get(context.Background(), "k"); return err }
	if err := get(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first get: %v", err)
	}
	if err := get(); !errors.Is(err, ErrServerDead) {
		t.Fatalf("during backoff: %v", err)
	}
	time.Sleep(250 * time.Millisecond)
	if err := get(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after backoff the server should be tried again: %v", err)
	}
	s := c.servers[0]
	s.mu.Lock()
	backoff := s.backoff
	s.mu.Unlock()
	if backoff != 400*time.Millisecond {
		t.Errorf("backoff = %v, want doubled to 400ms", backoff)
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
