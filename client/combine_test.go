package client

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// slowConn makes every write take a while, so that senders queue up
// behind the one writing, and counts the writes.
type slowConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c slowConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	time.Sleep(2 * time.Millisecond)
	return c.Conn.Write(p)
}

// TestWriteCombining sends from many goroutines on one connection whose
// writes are slow: requests queued meanwhile must share writes, and every
// caller must still get its own answer, in each protocol (text and meta
// match replies by order, so the wire order must be the queue's).
func TestWriteCombining(t *testing.T) {
	srv := testenv.StartMemcached(t)
	for _, p := range []Protocol{Binary, Text, Meta} {
		t.Run(p.String(), func(t *testing.T) {
			var writes atomic.Int64
			var d net.Dialer
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				nc, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return slowConn{Conn: nc, writes: &writes}, nil
			}
			c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, MaxConnsPerServer: 1, Protocol: p, Dial: dial})
			x := ctx(t)
			const senders, each = 16, 20
			var wg sync.WaitGroup
			errs := make(chan error, senders)
			for g := range senders {
				wg.Go(func() {
					for i := range each {
						key := fmt.Sprintf("%s-w%d-%d", p, g, i)
						if err := c.Set(x, &Item{Key: key, Value: []byte(key)}); err != nil {
							errs <- fmt.Errorf("set %s: %w", key, err)
							return
						}
						it, err := c.Get(x, key)
						if err != nil || string(it.Value) != key {
							errs <- fmt.Errorf("get %s = %+v, %v", key, it, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n, reqs := writes.Load(), int64(2*senders*each); n >= reqs {
				t.Errorf("%d writes for %d requests: none combined", n, reqs)
			}
		})
	}
}
