package cacheagent

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"

	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/diggi/posix"
)

// A session is memcached's worker loop on posix events, for one client,
// plain or TLS alike: each client is one Diggi socket with a persistent
// read event; its callback reads what one message brought, feeds the state
// machine and writes the reply without blocking. A reply the client's
// window cannot take parks the session on a write event (no reads
// meanwhile: the connection stops processing requests while its output is
// blocked, as memcached's does, and back-pressure reaches the client
// through the gateway), and a session that yielded at -R resumes from a
// fresh task so the other sessions run in between. What differs between
// plain and TLS is only how bytes cross the socket: the records.

// records is how a session's bytes cross its socket: the socket itself
// (plainRecords) or crypto/tls's record layer over it (tlsRecords, tls.go).
// Used only under the baton.
type records interface {
	// read reads client bytes into p; (0, nil) means none for now.
	read(p []byte) (int, error)
	// write takes what it can of p now; full reports that the client's
	// window has no room for more.
	write(p []byte) (n int, full bool, err error)
	// flush sends what write holds back; done reports that all went out.
	flush() (done bool, err error)
	// unsent reports whether the layer holds bytes for the client that
	// the socket has not taken (a TLS layer may answer the client itself).
	unsent() bool
	// buffered reports whether client bytes may wait inside the layer,
	// where no read event announces them (decrypted TLS records).
	buffered() bool
	// close releases what the layer holds; the session closes the socket.
	close()
}

// session is one client; used only under the baton (and, while a TLS
// handshake runs, by its goroutine, which uses only the records until it
// hands over).
type session struct {
	a      *Agent
	fd     int
	id     int
	c      *conn.Conn // nil until a TLS handshake completes
	rl     records
	rev    posix.Event // EvRead|EvPersist while accepting input
	wev    posix.Event // EvWrite|EvPersist while output waits for window
	more   bool        // yielded at -R with input left
	closed bool
	// wakeQueued: a task to send a watcher's lines is queued (wake).
	wakeQueued bool
	wakeFn     func()
}

// listen opens the agent's port; TLS or not is decided per accepted
// socket.
func (a *Agent) listen() error {
	fd, err := a.sys.Socket()
	if err != nil {
		return err
	}
	if err := a.sys.Listen(fd, a.as.port, a.as.set.ListenBacklog); err != nil {
		a.sys.Close(fd)
		return err
	}
	if err := a.sys.SetNonblock(fd, true); err != nil {
		a.sys.Close(fd)
		return err
	}
	a.listenFd = fd
	a.sys.EventSet(&a.listenEv, fd, posix.EvRead|posix.EvPersist, a.onAccept)
	return a.sys.EventAdd(&a.listenEv)
}

// onAccept takes every waiting connection.
func (a *Agent) onAccept(fd int, _ posix.EvFlags) {
	for {
		nfd, _, err := a.sys.Accept(fd)
		if err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				a.ctx.Log().Warn("accept failed", "err", err)
			}
			return
		}
		if err := a.sys.SetNonblock(nfd, true); err != nil {
			a.sys.Close(nfd)
			continue
		}
		if a.tlsConfig != nil {
			a.startTLS(nfd)
			continue
		}
		s := &session{a: a, fd: nfd, rl: plainRecords{sys: a.sys, fd: nfd}}
		a.sessions[nfd] = s
		s.start(false)
	}
}

// start gives the session its state machine and starts reading.
func (s *session) start(tls bool) {
	a := s.a
	s.wakeFn = s.onWake
	s.c, s.id = a.newConn()
	s.c.SetTLS(tls)
	s.c.SetWaker(s.id, s.wake)
	a.announce(s.c, s.fd)
	a.sys.EventSet(&s.rev, s.fd, posix.EvRead|posix.EvPersist, func(int, posix.EvFlags) { s.onRead() })
	a.sys.EventSet(&s.wev, s.fd, posix.EvWrite|posix.EvPersist, func(int, posix.EvFlags) { s.onWrite() })
	if err := a.sys.EventAdd(&s.rev); err != nil {
		s.close()
		return
	}
	if s.rl.buffered() {
		// A TLS client may have sent requests right behind its Finished.
		s.onRead()
	}
}

// onRead feeds what has arrived, until the socket would block or the
// session has to pause (output waiting, -R yield, close). A plain socket
// is read once per event: the persistent event fires again while bytes
// wait.
func (s *session) onRead() {
	buf := s.a.buf
	for !s.closed {
		n, err := s.rl.read(buf)
		if n > 0 {
			s.a.logInput(s.id, s.c, buf[:n])
			if !s.flush(s.c.Feed(buf[:n])) {
				return
			}
		}
		if err != nil {
			// EOF, reset, a TLS alert or bad record: the client is gone
			// (memcached closes on a half-close too).
			s.close()
			return
		}
		if n == 0 {
			if s.rl.unsent() {
				s.flush(s.more)
			}
			return
		}
		if !s.rl.buffered() {
			return
		}
	}
}

// flush writes the state machine's output; it reports whether reading
// may go on. Input pauses while the reply waits for window or the session
// waits for its turn after a yield.
func (s *session) flush(more bool) bool {
	s.more = more
	s.a.corkBurst()
	for out := s.c.Output(); len(out) > 0; out = s.c.Output() {
		// out may be a large value's item memory (conn's stream.go):
		// the records copy it, and Sent, under the baton like Feed,
		// releases the item once all of it went.
		n, full, err := s.rl.write(out)
		s.c.Sent(n)
		if err != nil {
			s.close()
			return false
		}
		if full {
			break
		}
	}
	done, err := s.rl.flush()
	if err != nil {
		s.close()
		return false
	}
	sys := s.a.sys
	if !done || len(s.c.Output()) > 0 {
		sys.EventDel(&s.rev)
		if err := sys.EventAdd(&s.wev); err != nil {
			s.close()
		}
		return false
	}
	if s.c.Closed() {
		s.close()
		return false
	}
	if more {
		// memcached's conn_yields: let the other sessions in first.
		sys.EventDel(&s.rev)
		if err := s.a.ctx.Scheduler().Schedule(s.resume); err != nil {
			s.close()
		}
		return false
	}
	return true
}

func (s *session) onWrite() {
	if s.closed {
		return
	}
	done, err := s.rl.flush()
	if err != nil {
		s.close()
		return
	}
	if !done {
		return
	}
	s.a.sys.EventDel(&s.wev)
	if s.flush(s.more) {
		s.reading()
	}
}

// wake sends what a watcher was given while other sessions ran, from a
// task of its own: never inside the session whose request produced it.
func (s *session) wake() {
	if s.wakeQueued || s.closed {
		return
	}
	if err := s.a.ctx.Scheduler().Schedule(s.wakeFn); err == nil {
		s.wakeQueued = true
	}
}

func (s *session) onWake() {
	s.wakeQueued = false
	if !s.closed && s.flush(s.more) {
		s.reading()
	}
}

func (s *session) resume() {
	if s.closed {
		return
	}
	if s.flush(s.c.Process()) {
		s.reading()
	}
}

// reading re-arms the read event and consumes what the records already
// hold (no event would announce bytes buffered inside the layer).
func (s *session) reading() {
	if !s.rev.Pending() {
		if err := s.a.sys.EventAdd(&s.rev); err != nil {
			s.close()
			return
		}
	}
	if s.rl.buffered() {
		s.onRead()
	}
}

func (s *session) close() {
	if s.closed {
		return
	}
	s.closed = true
	s.rl.close()
	s.a.sys.EventDel(&s.rev)
	s.a.sys.EventDel(&s.wev)
	delete(s.a.sessions, s.fd)
	s.a.sys.Close(s.fd)
	if s.c != nil {
		s.a.endConn(s.c, s.id)
	}
}

// plainRecords are a plain session's bytes: the socket itself.
type plainRecords struct {
	sys *posix.Sys
	fd  int
}

func (r plainRecords) read(p []byte) (int, error) {
	n, err := r.sys.Read(r.fd, p)
	if errors.Is(err, syscall.EAGAIN) {
		err = nil
	}
	return n, err
}

func (r plainRecords) write(p []byte) (int, bool, error) {
	n, err := r.sys.Write(r.fd, p)
	if errors.Is(err, syscall.EAGAIN) {
		return n, true, nil
	}
	return n, false, err
}

func (plainRecords) flush() (bool, error) { return true, nil }
func (plainRecords) unsent() bool         { return false }
func (plainRecords) buffered() bool       { return false }
func (plainRecords) close()               {}

// corkBurst holds the replies of the sessions that run now (the requests
// one message brought, each session a task) and sends them as one message
// from a task queued behind those sessions' tasks.
func (a *Agent) corkBurst() {
	if a.corked {
		return
	}
	if err := a.ctx.Scheduler().Schedule(a.uncorkFn); err != nil {
		return
	}
	a.corked = true
	a.sys.Cork()
}

func (a *Agent) uncork() {
	a.corked = false
	a.sys.Uncork()
}

// logInput logs, at -vvv, the request lines of what a client sent (first
// 200 bytes of each line; binary requests as a length), as memcached does.
// Nothing is logged before a -Y client authenticates: its "set" carries
// the password, which memcached never logs.
func (a *Agent) logInput(id int, c *conn.Conn, p []byte) {
	if a.verbosity.Load() < 3 || !a.contentLogging() || c.Authenticating() {
		return
	}
	if len(p) > 0 && p[0] == 0x80 {
		a.ctx.Log().Debug(fmt.Sprintf("<%d binary request bytes=%d", id, len(p)))
		return
	}
	for _, line := range bytes.Split(p, []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if len(line) > 200 {
			line = line[:200]
		}
		a.ctx.Log().Debug(fmt.Sprintf("<%d %q", id, line))
	}
}
