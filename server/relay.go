package server

import (
	"errors"
	"net"
	"os"
	"runtime"
	"time"
)

// The relay is the untrusted half of the server: it owns the sockets, the
// connection limit and idle timeouts, and moves bytes between a socket and
// the cache agent's Session. It never parses a request, so the next step
// (a Diggi gateway agent in front of a trusted cache agent) replaces only
// this file.

// readBufSize is each connection's read buffer, memcached's 16 KB.
const readBufSize = 16 << 10

// tooManyConns is memcached's answer when -c is reached with maxconns_fast.
const tooManyConns = "ERROR Too many open connections\r\n"

type client struct {
	id     uint64
	nc     net.Conn
	sess   *Session
	remote string
	local  string
}

// acceptLoop serves one listener until Shutdown.
func (s *Server) acceptLoop(l net.Listener) {
	defer s.wg.Done()
	fast := s.set.Extended.MaxConnsFast
	for {
		if !fast {
			// Without maxconns_fast, memcached stops accepting at -c.
			select {
			case s.slots <- struct{}{}:
			case <-s.done:
				return
			}
		}
		nc, err := l.Accept()
		if err != nil {
			if !fast {
				<-s.slots
			}
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: memcached logs and
			// retries; back off a little so we do not spin.
			s.log.warn("accept failed", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if fast {
			select {
			case s.slots <- struct{}{}:
			default:
				s.rejected.Add(1)
				nc.SetWriteDeadline(time.Now().Add(time.Second))
				nc.Write([]byte(tooManyConns))
				nc.Close()
				s.log.connRejected()
				continue
			}
		}
		s.startClient(nc)
	}
}

func (s *Server) startClient(nc net.Conn) {
	c := &client{
		id:     s.nextID.Add(1),
		nc:     nc,
		sess:   s.cache.NewSession(),
		remote: addrString(nc.RemoteAddr()),
		local:  addrString(nc.LocalAddr()),
	}
	s.mu.Lock()
	select {
	case <-s.done:
		// Shutdown already closed everyone; do not add a straggler.
		s.mu.Unlock()
		c.sess.Close()
		nc.Close()
		<-s.slots
		return
	default:
	}
	s.clients[c.id] = c
	s.mu.Unlock()
	s.curr.Add(1)
	s.total.Add(1)
	s.log.connNew(c.id)
	s.wg.Add(1)
	go s.serveClient(c)
}

// serveClient relays one connection: read, hand the bytes to the session
// (which takes the baton), write its output outside the baton.
func (s *Server) serveClient(c *client) {
	defer s.wg.Done()
	defer s.endClient(c)
	buf := make([]byte, readBufSize)
	idle := s.set.Extended.IdleTimeout
	for {
		if idle > 0 {
			c.nc.SetReadDeadline(time.Now().Add(idle))
		}
		n, err := c.nc.Read(buf)
		if n > 0 {
			s.log.input(c.id, buf[:n])
			if !s.deliver(c, c.sess.Input(buf[:n])) {
				return
			}
		}
		if err != nil {
			if idle > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				s.log.idleClose(c.id)
			}
			return
		}
	}
}

// deliver writes the session's output, resuming it while it yields (-R). It
// returns false when the connection must close.
func (s *Server) deliver(c *client, more bool) bool {
	for {
		if out := c.sess.Output(); len(out) > 0 {
			n, err := c.nc.Write(out)
			c.sess.Sent(n)
			if err != nil {
				return false
			}
		}
		if c.sess.Closed() {
			return false
		}
		if !more {
			return true
		}
		// memcached's conn_yields: let other connections in before
		// handling the rest of this one's pipeline.
		runtime.Gosched()
		more = c.sess.Resume()
	}
}

func (s *Server) endClient(c *client) {
	c.sess.Close()
	c.nc.Close()
	s.mu.Lock()
	delete(s.clients, c.id)
	s.mu.Unlock()
	s.curr.Add(-1)
	<-s.slots
	s.log.connClosed(c.id)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.Network() + ":" + a.String()
}
