package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/securecached/securecached/diggi/netconn"
)

// dialTimeout bounds connecting to the cache agent.
const dialTimeout = 5 * time.Second

// client is one relayed connection.
type client struct {
	tcp  net.Conn
	dc   *netconn.Conn
	slot *slot
	once sync.Once
}

func (c *client) close() {
	c.once.Do(func() {
		c.tcp.Close()
		if c.dc != nil {
			c.dc.Close()
		}
	})
}

// The goroutine relay: two copying goroutines per client over a
// diggi/netconn connection. It runs on any OS and any net.Listener;
// relay_epoll_linux.go is the fast path for kernel sockets.

func (g *Agent) startGoroutine(nc net.Conn, s *slot) {
	c := &client{tcp: nc, slot: s}
	if !g.register(c) {
		nc.Close()
		s.release()
		return
	}
	g.wg.Add(1)
	go g.serve(c)
}

// serve connects the client to the cache agent and relays both ways until
// either side is done.
func (g *Agent) serve(c *client) {
	defer g.wg.Done()
	defer g.unregister(c)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	dc, err := netconn.DialFrom(ctx, g.sys, g.gs.backend, originOf(c.tcp))
	cancel()
	if err != nil {
		g.ctx.Log().Warn("connect to cache agent failed", "backend", g.gs.backend, "err", err)
		return
	}
	g.mu.Lock()
	c.dc = dc
	stopped := g.closing
	g.mu.Unlock()
	if stopped {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.pump(c, dc, ToClient)
	}()
	g.pump(c, c.tcp, ToCache)
	wg.Wait()
}

// pump copies one direction. A clean end of stream is passed on as a
// half-close (the other direction may still carry the reply); an error,
// or idle_timeout on the client side, closes the whole connection.
func (g *Agent) pump(c *client, src net.Conn, dir Direction) {
	dst := net.Conn(c.dc)
	if dir == ToClient {
		dst = c.tcp
	}
	buf := make([]byte, relayBufSize)
	idle := g.gs.idleTimeout
	for {
		if idle > 0 && dir == ToCache {
			src.SetReadDeadline(time.Now().Add(idle))
		}
		n, err := src.Read(buf)
		if n > 0 {
			if g.hooks.Tap != nil {
				g.hooks.Tap(dir, buf[:n])
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				c.close()
				return
			}
		}
		if err != nil {
			// The client's half-close travels on: memcached answers what
			// it already sent, then closes. The cache agent's end closes
			// the client outright, as memcached's close does.
			if err == io.EOF && dir == ToCache {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
					return
				}
			}
			if idle > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				g.idleKicks.Add(1)
				g.ctx.Log().Debug("closing idle connection", "client", c.tcp.RemoteAddr())
			}
			c.close()
			return
		}
	}
}
