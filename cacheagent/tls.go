package cacheagent

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/diggi/posix"
)

// The TLS path (-Z). TLS terminates here, inside the cache agent, so
// plaintext exists only in this agent: the gateway and the router carry
// records. The handshake (public-key work, possibly an RA-TLS certificate)
// runs on a goroutine of its own, entering the agent per socket operation;
// after it, the session is a posix-event state machine like the plaintext
// one, with crypto/tls's record layer run under the baton over a
// non-blocking sockConn. No goroutine per client, no baton hand-over per
// request.

// handshakeTimeout bounds a client that connects and never finishes the
// handshake.
const handshakeTimeout = 10 * time.Second

// tlsSession is one TLS client; touched only under the baton (and by its
// handshake goroutine, which uses only sc and tc until it hands over).
type tlsSession struct {
	a      *Agent
	fd     int
	id     int
	c      *conn.Conn // nil until the handshake completes
	sc     *sockConn
	tc     *tls.Conn
	cancel context.CancelFunc
	rev    posix.Event
	wev    posix.Event
	more   bool
	closed bool
	// wakeQueued: a task to send a watcher's lines is queued (wake).
	wakeQueued bool
}

// wake sends what a watcher was given while other sessions ran, from a
// task of its own.
func (t *tlsSession) wake() {
	if t.wakeQueued || t.closed {
		return
	}
	err := t.a.ctx.Scheduler().Schedule(func() {
		t.wakeQueued = false
		if !t.closed {
			t.flush(t.more)
		}
	})
	if err == nil {
		t.wakeQueued = true
	}
}

// startTLS begins a TLS session on an accepted socket (under the baton).
func (a *Agent) startTLS(fd int) {
	h, err := a.sys.Handle(fd)
	if err != nil {
		a.sys.Close(fd)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	sc := &sockConn{sys: a.sys, fd: fd, h: h, local: a.localAddr(), remote: diggiAddr(a.sys, fd), ctx: ctx}
	t := &tlsSession{a: a, fd: fd, sc: sc, tc: tls.Server(sc, a.tlsConfig), cancel: cancel}
	a.tlsConns[fd] = t
	a.tlsWG.Add(1)
	go t.handshake()
}

func (t *tlsSession) handshake() {
	a := t.a
	defer a.tlsWG.Done()
	err := t.tc.HandshakeContext(t.sc.ctx)
	t.cancel()
	a.ctx.Scheduler().Run(func() {
		if t.closed {
			return
		}
		if err != nil {
			if a.verbosity.Load() >= 1 {
				a.ctx.Log().Warn("tls handshake failed", "err", err)
			}
			t.close()
			return
		}
		t.sc.evented = true
		t.c, t.id = a.newConn()
		t.c.SetTLS(true)
		t.c.SetWaker(t.id, t.wake)
		a.announce(t.c, t.fd)
		a.sys.EventSet(&t.rev, t.fd, posix.EvRead|posix.EvPersist, func(int, posix.EvFlags) { t.onRead() })
		a.sys.EventSet(&t.wev, t.fd, posix.EvWrite|posix.EvPersist, func(int, posix.EvFlags) { t.onWrite() })
		if err := a.sys.EventAdd(&t.rev); err != nil {
			t.close()
			return
		}
		// The client may have sent requests right behind its Finished.
		t.onRead()
	})
}

// onRead decrypts and feeds whatever has arrived, until the socket would
// block or the session has to pause (output waiting, -R yield, close).
func (t *tlsSession) onRead() {
	buf := t.a.buf
	for !t.closed {
		n, err := t.tc.Read(buf)
		if n > 0 {
			t.a.logInput(t.id, t.c, buf[:n])
			if !t.flush(t.c.Feed(buf[:n])) {
				return
			}
			continue
		}
		var wb wouldBlock
		if err != nil && !errors.As(err, &wb) {
			t.close() // EOF, alert, bad record
			return
		}
		// crypto/tls may have answered something itself (a KeyUpdate).
		if t.sc.unsent() > 0 {
			t.flush(t.more)
		}
		return
	}
}

// maxPending bounds the encrypted bytes a session holds for a client whose
// window is full: the rest of a reply waits, unencrypted, in the state
// machine's own output until they have gone out.
const maxPending = 256 << 10

// tlsChunk is how much output one record batch takes; crypto/tls splits it
// into records of at most 16 KB.
const tlsChunk = 64 << 10

// flush encrypts the state machine's output; it reports whether reading
// may go on.
func (t *tlsSession) flush(more bool) bool {
	t.more = more
	t.a.corkBurst()
	for out := t.c.Output(); len(out) > 0 && t.sc.unsent() < maxPending; out = t.c.Output() {
		n, err := t.tc.Write(out[:min(len(out), tlsChunk)])
		t.c.Sent(n)
		if err != nil {
			t.close()
			return false
		}
		if t.sc.unsent() >= tlsChunk {
			if _, err := t.sc.flush(); err != nil {
				t.close()
				return false
			}
		}
	}
	if _, err := t.sc.flush(); err != nil {
		t.close()
		return false
	}
	sys := t.a.sys
	if t.sc.unsent() > 0 || len(t.c.Output()) > 0 {
		// The client's window is full: stop decrypting input until the
		// records already made have gone out.
		sys.EventDel(&t.rev)
		if err := sys.EventAdd(&t.wev); err != nil {
			t.close()
		}
		return false
	}
	if t.c.Closed() {
		t.close()
		return false
	}
	if more {
		sys.EventDel(&t.rev)
		if err := t.a.ctx.Scheduler().Schedule(t.resume); err != nil {
			t.close()
		}
		return false
	}
	return true
}

func (t *tlsSession) onWrite() {
	if t.closed {
		return
	}
	done, err := t.sc.flush()
	if err != nil {
		t.close()
		return
	}
	if !done {
		return
	}
	t.a.sys.EventDel(&t.wev)
	if t.flush(t.more) {
		t.reading()
	}
}

func (t *tlsSession) resume() {
	if t.closed {
		return
	}
	if t.flush(t.c.Process()) {
		t.reading()
	}
}

// reading re-arms the read event and consumes what crypto/tls or the
// socket already hold (no event would announce bytes already buffered).
func (t *tlsSession) reading() {
	if err := t.a.sys.EventAdd(&t.rev); err != nil {
		t.close()
		return
	}
	t.onRead()
}

func (t *tlsSession) close() {
	if t.closed {
		return
	}
	t.closed = true
	t.cancel()
	sys := t.a.sys
	sys.EventDel(&t.rev)
	sys.EventDel(&t.wev)
	sys.Close(t.fd)
	delete(t.a.tlsConns, t.fd)
	if t.c != nil {
		t.a.endConn(t.c, t.id)
	}
}
