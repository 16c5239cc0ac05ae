package cacheagent

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"

	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/diggi/posix"
)

// The plaintext path: memcached's worker loop on posix events. Each client
// is one Diggi socket with a persistent read event; its callback reads what
// one message brought, feeds the state machine and writes the reply with a
// non-blocking write. A reply the client's window cannot take parks the
// session on a write event (no reads meanwhile: back-pressure reaches the
// client through the gateway), and a session that yielded at -R resumes
// from a fresh task so the other sessions run in between.

// session is one plaintext client; used only under the baton.
type session struct {
	a      *Agent
	fd     int
	id     int
	c      *conn.Conn
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
		s := &session{a: a, fd: nfd}
		s.wakeFn = s.onWake
		s.c, s.id = a.newConn()
		s.c.SetWaker(s.id, s.wake)
		a.announce(s.c, nfd)
		a.sessions[nfd] = s
		a.sys.EventSet(&s.rev, nfd, posix.EvRead|posix.EvPersist, s.onRead)
		a.sys.EventSet(&s.wev, nfd, posix.EvWrite|posix.EvPersist, s.onWrite)
		if err := a.sys.EventAdd(&s.rev); err != nil {
			s.close()
		}
	}
}

func (s *session) onRead(fd int, _ posix.EvFlags) {
	if s.closed {
		return
	}
	n, err := s.a.sys.Read(fd, s.a.buf)
	if n > 0 {
		s.a.logInput(s.id, s.c, s.a.buf[:n])
		s.flush(s.c.Feed(s.a.buf[:n]))
		if s.closed {
			return
		}
	}
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		// EOF or reset: the client is gone (memcached closes on a
		// half-close too).
		s.close()
	}
}

// flush writes the state machine's output, pausing input while the reply
// waits for window or the session waits for its turn after a yield.
func (s *session) flush(more bool) {
	s.more = more
	s.a.corkBurst()
	out := s.c.Output()
	for len(out) > 0 {
		n, err := s.a.sys.Write(s.fd, out)
		if n > 0 {
			s.c.Sent(n)
			out = s.c.Output()
		}
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			s.close()
			return
		}
	}
	if len(out) > 0 {
		s.a.sys.EventDel(&s.rev)
		if err := s.a.sys.EventAdd(&s.wev); err != nil {
			s.close()
		}
		return
	}
	if s.c.Closed() {
		s.close()
		return
	}
	if s.more {
		// memcached's conn_yields: let the other sessions in first.
		s.a.sys.EventDel(&s.rev)
		if err := s.a.ctx.Scheduler().Schedule(s.resume); err != nil {
			s.close()
		}
		return
	}
	if !s.rev.Pending() {
		if err := s.a.sys.EventAdd(&s.rev); err != nil {
			s.close()
		}
	}
}

func (s *session) onWrite(fd int, _ posix.EvFlags) {
	if s.closed {
		return
	}
	s.a.sys.EventDel(&s.wev)
	s.flush(s.more)
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
	if !s.closed {
		s.flush(s.more)
	}
}

func (s *session) resume() {
	if s.closed {
		return
	}
	s.flush(s.c.Process())
}

func (s *session) close() {
	if s.closed {
		return
	}
	s.closed = true
	s.a.sys.EventDel(&s.rev)
	s.a.sys.EventDel(&s.wev)
	delete(s.a.sessions, s.fd)
	s.a.sys.Close(s.fd)
	s.a.endConn(s.c, s.id)
}

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
