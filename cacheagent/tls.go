package cacheagent

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/diggi/netconn"
)

// The TLS path (-Z). crypto/tls is ordinary blocking Go code, so each
// client gets a goroutine that runs the TLS record layer WITHOUT the baton
// over a diggi/netconn connection, and enters the agent (Scheduler.Run) only
// to hand decrypted bytes to the state machine. Plaintext therefore exists
// only inside this agent: the gateway and the router see TLS records.

// handshakeTimeout bounds a client that connects and never finishes the
// handshake, so it cannot hold a goroutine forever.
const handshakeTimeout = 10 * time.Second

// tlsSession is one TLS client.
type tlsSession struct {
	nc net.Conn
	c  *conn.Conn
	id int
}

func (a *Agent) listenTLS() error {
	ln, err := netconn.Listen(a.sys, a.as.port)
	if err != nil {
		return err
	}
	a.tlsLn = ln
	a.tlsWG.Add(1)
	go a.acceptTLS(ln)
	return nil
}

func (a *Agent) acceptTLS(ln net.Listener) {
	defer a.tlsWG.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				a.ctx.Log().Warn("tls accept failed", "err", err)
			}
			return
		}
		a.tlsWG.Add(1)
		go a.serveTLS(nc)
	}
}

// serveTLS runs one client: handshake, then read records, feed the state
// machine under the baton, write its output back as records.
func (a *Agent) serveTLS(nc net.Conn) {
	defer a.tlsWG.Done()
	defer nc.Close()
	tc := tls.Server(nc, a.tlsConfig)
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.Handshake(); err != nil {
		if a.verbosity.Load() >= 1 {
			a.ctx.Log().Warn("tls handshake failed", "err", err)
		}
		return
	}
	nc.SetDeadline(time.Time{})

	t := &tlsSession{nc: nc}
	sched := a.ctx.Scheduler()
	if sched.Run(func() {
		t.c, t.id = a.newConn()
		a.tlsConns[t.id] = t
	}) != nil {
		return
	}
	defer sched.Run(func() {
		delete(a.tlsConns, t.id)
		a.endConn(t.c, t.id)
	})
	buf := make([]byte, readBufSize)
	for {
		n, err := tc.Read(buf)
		if n > 0 {
			var more bool
			if sched.Run(func() { more = t.c.Feed(buf[:n]) }) != nil {
				return
			}
			if !a.deliverTLS(tc, t, more) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// deliverTLS writes the state machine's output (outside the baton: Output
// and Sent touch only this connection), resuming it after -R yields. It
// returns false when the connection must close.
func (a *Agent) deliverTLS(tc *tls.Conn, t *tlsSession, more bool) bool {
	sched := a.ctx.Scheduler()
	for {
		if out := t.c.Output(); len(out) > 0 {
			n, err := tc.Write(out)
			t.c.Sent(n)
			if err != nil {
				return false
			}
		}
		if t.c.Closed() {
			return false
		}
		if !more {
			return true
		}
		if sched.Run(func() { more = t.c.Process() }) != nil {
			return false
		}
	}
}
