package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// holdingServer accepts connections and reads requests but never answers.
// got is closed when the first request bytes arrive; every connection is
// closed, unanswered, when hangUp is called (the test's stand-in for the
// timeout a silent server ends in, at a moment the test chooses).
type holdingServer struct {
	addr   string
	got    chan struct{}
	gotOne sync.Once
	hangUp func()
}

func startHoldingServer(t *testing.T) *holdingServer {
	t.Helper()
	h := &holdingServer{got: make(chan struct{})}
	release := make(chan struct{})
	var once sync.Once
	h.hangUp = func() { once.Do(func() { close(release) }) }
	h.addr = fakeServer(t, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		if n, _ := c.Read(buf); n > 0 {
			h.gotOne.Do(func() { close(h.got) })
		}
		<-release
	})
	t.Cleanup(h.hangUp) // registered after fakeServer's, so it runs first
	return h
}

// gatedWriter holds each write until open is closed (or ctx ends), and
// closes wrote after the first write went out.
type gatedWriter struct {
	net.Conn
	ctx   context.Context
	open  <-chan struct{}
	wrote chan struct{}
	once  *sync.Once
}

func (c *gatedWriter) Write(p []byte) (int, error) {
	select {
	case <-c.open:
	case <-c.ctx.Done():
		return 0, c.ctx.Err()
	}
	n, err := c.Conn.Write(p)
	c.once.Do(func() { close(c.wrote) })
	return n, err
}

// TestGetMultiAsksServersInParallel: with one server that never answers
// and one live memcached, get-multi returns the live server's items and
// the silent server's error, and the silent server's keys are absent. It
// proves the servers are asked in parallel, without timing: the request to
// the live server may only be written once the silent server holds its
// own request, and the silent server gives up only after that write. A
// get-multi that waited for one server before asking the next would stall
// in either order until the test's deadline.
func TestGetMultiAsksServersInParallel(t *testing.T) {
	live := testenv.StartMemcached(t)
	for _, p := range []Protocol{Binary, Text, Meta} {
		t.Run(p.String(), func(t *testing.T) {
			silent := startHoldingServer(t)
			x := ctx(t)
			liveSent := make(chan struct{})
			var sentOnce sync.Once
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				var d net.Dialer
				nc, err := d.DialContext(ctx, network, addr)
				if err != nil || addr != live.Addr {
					return nc, err
				}
				return &gatedWriter{Conn: nc, ctx: x, open: silent.got, wrote: liveSent, once: &sentOnce}, nil
			}
			// The client's own timeout is out of reach: only the test ends
			// the silent server's batch.
			c := newClient(t, Config{Servers: []ServerConfig{{Addr: live.Addr}, {Addr: silent.addr}}, Protocol: p,
				Dial: dial, Timeout: time.Hour})
			var keys, liveKeys, silentKeys []string
			for i := range 200 {
				k := fmt.Sprintf("multi-%s-%d", p, i)
				keys = append(keys, k)
				switch a, _ := c.ServerFor(k); a {
				case live.Addr:
					liveKeys = append(liveKeys, k)
				case silent.addr:
					silentKeys = append(silentKeys, k)
				}
			}
			if len(liveKeys) == 0 || len(silentKeys) == 0 {
				t.Fatalf("keys per server: %d live, %d silent", len(liveKeys), len(silentKeys))
			}
			direct := newClient(t, Config{Servers: []ServerConfig{{Addr: live.Addr}}, Protocol: p})
			for _, k := range liveKeys {
				if err := direct.Set(x, &Item{Key: k, Value: []byte("v:" + k)}); err != nil {
					t.Fatal(err)
				}
			}

			type result struct {
				items map[string]*Item
				err   error
			}
			done := make(chan result, 1)
			go func() {
				m, err := c.GetMulti(x, keys)
				done <- result{m, err}
			}()
			select {
			case <-liveSent:
			case r := <-done:
				t.Fatalf("GetMulti returned before asking the live server: %d items, %v", len(r.items), r.err)
			case <-x.Done():
				silent.hangUp()
				<-done
				t.Fatal("the live server was not asked while the silent server held its request: get-multi is not parallel")
			}
			silent.hangUp()
			r := <-done

			if !errors.Is(r.err, ErrConnBroken) || !strings.Contains(r.err.Error(), silent.addr) {
				t.Errorf("GetMulti error = %v, want the silent server's broken connection", r.err)
			}
			if len(r.items) != len(liveKeys) {
				t.Errorf("%d items, want the live server's %d", len(r.items), len(liveKeys))
			}
			for _, k := range liveKeys {
				if it := r.items[k]; it == nil || string(it.Value) != "v:"+k {
					t.Fatalf("live key %s = %+v", k, it)
				}
			}
			for _, k := range silentKeys {
				if it, ok := r.items[k]; ok {
					t.Fatalf("silent server's key %s present: %+v", k, it)
				}
			}
		})
	}
}
