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

// client is one connection on the goroutine relay.
type client struct {
	tcp  net.Conn
	dc   *netconn.Conn
	slot *slot
	once sync.Once // closes the sockets: the relay's close, or Stop

	mu sync.Mutex // guards r: the two copying goroutines drive it in turn
	r  relay
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
// diggi/netconn connection, driving the client's relay state machine
// (relay.go) as the epoll relay does. It runs on any OS and any
// net.Listener; relay_epoll_linux.go is the fast path for kernel sockets.
// Its sockets block: a write returns when the other side took every byte
// (or failed), so each goroutine reads again only once the relay has no
// bytes of its direction left, which is when the relay wants the read.

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
// the relay closes.
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
	c.r.connect()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		g.pumpDown(c)
	}()
	g.pumpUp(c)
	wg.Wait()
}

// end reports a fatal error or the cache agent's end to the relay, and
// closes the sockets if the relay closed here.
func (c *client) end(cacheEOF bool) {
	c.mu.Lock()
	first := false
	if cacheEOF && len(c.r.down) == 0 {
		first = c.r.cacheEOF()
	} else {
		first = c.r.fail()
	}
	c.mu.Unlock()
	if first {
		c.close()
	}
}

// pumpUp relays the client's bytes to the cache agent. idle_timeout closes
// a client that sends nothing for that long.
func (g *Agent) pumpUp(c *client) {
	buf := make([]byte, relayBufSize)
	idle := g.gs.idleTimeout
	for {
		if idle > 0 {
			c.tcp.SetReadDeadline(time.Now().Add(idle))
		}
		n, err := c.tcp.Read(buf)
		c.mu.Lock()
		if c.r.closed {
			c.mu.Unlock()
			return
		}
		var p []byte
		switch {
		case n > 0:
			if g.hooks.Tap != nil {
				g.hooks.Tap(ToCache, buf[:n])
			}
			c.r.fromClient(buf[:n])
			p = c.r.toCache()
		case errors.Is(err, io.EOF):
			// The client's half-close travels on: memcached answers
			// what it already sent, then closes.
			c.r.clientEOF()
		}
		c.mu.Unlock()
		if len(p) > 0 {
			w, werr := c.dc.Write(p)
			c.mu.Lock()
			c.r.cacheTook(w)
			c.mu.Unlock()
			if werr != nil {
				c.end(false)
				return
			}
		}
		c.mu.Lock()
		shut := c.r.shutCache()
		c.mu.Unlock()
		if shut {
			if c.dc.CloseWrite() != nil {
				c.end(false)
			}
			return
		}
		if err != nil && n == 0 && !errors.Is(err, io.EOF) {
			if idle > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				g.idleKicks.Add(1)
				g.ctx.Log().Debug("closing idle connection", "client", c.tcp.RemoteAddr())
			}
			c.end(false)
			return
		}
	}
}

// pumpDown relays the cache agent's bytes to the client; the cache
// agent's end closes the client outright, as memcached's close does.
func (g *Agent) pumpDown(c *client) {
	buf := make([]byte, relayBufSize)
	for {
		n, err := c.dc.Read(buf)
		if n > 0 {
			c.mu.Lock()
			if c.r.closed {
				c.mu.Unlock()
				return
			}
			if g.hooks.Tap != nil {
				g.hooks.Tap(ToClient, buf[:n])
			}
			c.r.fromCache(buf[:n])
			p := c.r.toClient()
			c.mu.Unlock()
			w, werr := c.tcp.Write(p)
			c.mu.Lock()
			c.r.clientTook(w)
			c.mu.Unlock()
			if werr != nil {
				c.end(false)
				return
			}
		}
		if err != nil {
			c.end(errors.Is(err, io.EOF))
			return
		}
	}
}
