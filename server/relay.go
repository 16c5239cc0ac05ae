package server

import (
	"errors"
	"net"
	"os"
	"runtime"
	"time"
)

// A relay is the untrusted half of the server: it owns the sockets, the
// connection limit and idle timeouts, and moves bytes between a socket and
// the cache agent's Session. It never parses a request, so a Diggi gateway
// agent in front of a trusted cache agent can take its place without
// touching Cache or Session. This file holds what both relays share and
// the portable one (a goroutine per client on any net.Listener, which is
// also what runs over Diggi sockets, since they implement net.Conn);
// relay_epoll_linux.go holds the fast path for kernel sockets.

// readBufSize is each connection's read buffer, memcached's 16 KB.
const readBufSize = 16 << 10

// tooManyConns is memcached's answer when -c is reached with maxconns_fast.
const tooManyConns = "ERROR Too many open connections\r\n"

// client is one connection in the server's registry ("stats conns",
// shutdown), whichever relay serves it.
type client struct {
	id     uint64
	sess   *Session
	remote string
	local  string
	// close unblocks the relay serving the client; nil when the relay
	// notices shutdown by itself (the epoll loops).
	close func()
}

// register adds c to the registry; false means the server is shutting down
// and c must be dropped.
func (s *Server) register(c *client) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return false
	default:
	}
	s.clients[c.id] = c
	s.curr.Add(1)
	s.total.Add(1)
	return true
}

// unregister removes c and frees its -c slot.
func (s *Server) unregister(c *client) {
	s.mu.Lock()
	delete(s.clients, c.id)
	s.mu.Unlock()
	s.curr.Add(-1)
	<-s.slots
	s.log.connClosed(c.id)
}

// acceptLoop accepts on one listener until Shutdown, enforcing -c, and
// hands each client to a relay.
func (s *Server) acceptLoop(l net.Listener, handoff func(net.Conn)) {
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
		handoff(nc)
	}
}

// startClient is the goroutine relay's handoff: one goroutine per client.
func (s *Server) startClient(nc net.Conn) {
	c := &client{
		id:     s.nextID.Add(1),
		sess:   s.cache.NewSession(),
		remote: addrString(nc.RemoteAddr()),
		local:  addrString(nc.LocalAddr()),
		close:  func() { nc.Close() },
	}
	if !s.register(c) {
		// Shutdown already closed everyone; do not add a straggler.
		c.sess.Close()
		nc.Close()
		<-s.slots
		return
	}
	s.log.connNew(c.id)
	s.wg.Add(1)
	go s.serveClient(c, nc)
}

// serveClient relays one connection: read, hand the bytes to the session
// (which takes the baton), write its output outside the baton.
func (s *Server) serveClient(c *client, nc net.Conn) {
	defer s.wg.Done()
	defer func() {
		c.sess.Close()
		nc.Close()
		s.unregister(c)
	}()
	buf := make([]byte, readBufSize)
	idle := s.set.Extended.IdleTimeout
	for {
		if idle > 0 {
			nc.SetReadDeadline(time.Now().Add(idle))
		}
		n, err := nc.Read(buf)
		if n > 0 {
			s.log.input(c.id, buf[:n])
			if !deliver(nc, c.sess, c.sess.Input(buf[:n])) {
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
func deliver(nc net.Conn, sess *Session, more bool) bool {
	for {
		if out := sess.Output(); len(out) > 0 {
			n, err := nc.Write(out)
			sess.Sent(n)
			if err != nil {
				return false
			}
		}
		if sess.Closed() {
			return false
		}
		if !more {
			return true
		}
		// memcached's conn_yields: let other connections in before
		// handling the rest of this one's pipeline.
		runtime.Gosched()
		more = sess.Resume()
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.Network() + ":" + a.String()
}
