package posix

import (
	"fmt"

	"github.com/securecached/securecached/diggi"
)

// maxFDs bounds an agent's descriptor table.
const maxFDs = 1 << 16

// Sys is one agent's POSIX layer: its descriptor table, listening ports and
// socket sessions. All methods must be called under the agent's baton.
type Sys struct {
	ctx   *diggi.Context
	mm    *diggi.Manager
	sched *diggi.Scheduler

	fds     fdTable
	freeFDs []int
	nextFD  int

	ports       map[uint16]*socket
	conns       map[connKey]*socket
	nextSession uint64

	changed chan struct{} // closed at the next change of any handle (poll)
	scratch []byte        // segment being built (baton-owned)
	iov1    [1][]byte     // Write's iovec for non-blocking writes (baton-owned)
	cork    int           // Cork depth: > 0 batches small data writes
	batch   []byte        // held data records for batchTo (see batch.go)
	batchN  int           // records in batch
	batchTo diggi.AgentID // the peer agent the held records go to

	// Segments that found the outbound queue full, oldest first, and the
	// sockets refused for lack of room; see room.go.
	unsent     []unsentSeg
	roomWaiter []*socket

	stopped bool

	// RecvBuffer is the most a socket's receive window grows to, in
	// bytes; WindowBudget bounds the growth of all of the agent's
	// windows together (window.go), and grown is that growth now.
	RecvBuffer   int
	WindowBudget int
	grown        int
}

// connKey names a connection from this agent's side: the peer, the
// session id and whether this agent initiated it.
type connKey struct {
	peer      diggi.AgentID
	session   uint64
	initiator bool
}

type sysKey struct{}

// DefaultRecvBuffer is the default bound of a socket's receive window.
const DefaultRecvBuffer = 256 << 10

// For returns the agent's POSIX layer, creating it on first use (call it
// from Init, so that connections arriving early find it). It subscribes to
// TypeNetIO messages and closes every descriptor when the agent stops.
func For(ctx *diggi.Context) *Sys {
	return ctx.Extension(sysKey{}, func() any {
		s := &Sys{
			ctx:          ctx,
			mm:           ctx.Messages(),
			sched:        ctx.Scheduler(),
			nextFD:       3, // 0-2 are stdio by convention
			ports:        map[uint16]*socket{},
			conns:        map[connKey]*socket{},
			RecvBuffer:   DefaultRecvBuffer,
			WindowBudget: DefaultWindowBudget,
		}
		s.mm.Subscribe(diggi.TypeNetIO, s.onMessage)
		s.mm.Subscribe(diggi.TypeLinkLost, s.onLinkLost)
		s.mm.OnChannelLost(s.onChannelLost)
		s.mm.OnRoom(s.onRoom)
		ctx.AtStop(s.shutdown)
		return s
	}).(*Sys)
}

// Context returns the agent's context.
func (s *Sys) Context() *diggi.Context { return s.ctx }

// Scheduler returns the agent's scheduler.
func (s *Sys) Scheduler() *diggi.Scheduler { return s.ctx.Scheduler() }

func (s *Sys) allocFD(h Handle) (int, error) {
	if s.stopped {
		return -1, errStopped
	}
	var fd int
	if n := len(s.freeFDs); n > 0 {
		fd = s.freeFDs[n-1]
		s.freeFDs = s.freeFDs[:n-1]
	} else {
		if s.nextFD >= maxFDs {
			return -1, fmt.Errorf("allocate descriptor: %w", EMFILE)
		}
		fd = s.nextFD
		s.nextFD++
	}
	s.fds.set(fd, h)
	h.base().fd = fd
	return fd, nil
}

func (s *Sys) freeFD(fd int) {
	s.fds.del(fd)
	s.freeFDs = append(s.freeFDs, fd)
}

// Handle returns the handle behind a descriptor.
func (s *Sys) Handle(fd int) (Handle, error) {
	h, ok := s.fds.get(fd)
	if !ok {
		return nil, fdErr("handle", fd, EBADF)
	}
	return h, nil
}

// Close closes any descriptor.
func (s *Sys) Close(fd int) error {
	h, ok := s.fds.get(fd)
	if !ok {
		return fdErr("close", fd, EBADF)
	}
	b := h.base()
	for _, ev := range b.events {
		ev.pending = false
	}
	b.events = nil
	b.reg = nil
	err := h.close()
	s.freeFD(fd)
	b.bump(h) // wake anyone still waiting on it
	return err
}

// WaitChan returns a channel closed at fd's next state change. Goroutines
// outside the agent (diggi/netconn) use it to wait without the baton.
func (s *Sys) WaitChan(fd int) (<-chan struct{}, error) {
	h, ok := s.fds.get(fd)
	if !ok {
		return nil, fdErr("wait", fd, EBADF)
	}
	return h.base().wait(), nil
}

// bump wakes Poll callers.
func (s *Sys) bump() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

func (s *Sys) anyChange() <-chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// block waits, with the baton released, until ch is closed or the agent
// stops.
func (s *Sys) block(ch <-chan struct{}) error {
	// Whatever the wait is for may depend on data held by Cork.
	s.flushBatch()
	stopped := false
	s.sched.Block(func() {
		select {
		case <-ch:
		case <-s.sched.Done():
			stopped = true
		}
	})
	if stopped {
		return errStopped
	}
	return nil
}

// shutdown closes every descriptor when the agent stops, so peers see
// EOF or resets rather than silence.
func (s *Sys) shutdown() {
	s.stopped = true // no new descriptors while closing (a close may block)
	for fd := range s.fds.h {
		if s.fds.h[fd] != nil {
			_ = s.Close(fd)
		}
	}
}

// fdTable maps descriptors to handles. Descriptors are small integers
// (freed ones are reused before new ones are taken), so a slice indexed by
// descriptor serves every lookup on the I/O path without hashing.
type fdTable struct{ h []Handle }

func (t *fdTable) get(fd int) (Handle, bool) {
	if fd < 0 || fd >= len(t.h) || t.h[fd] == nil {
		return nil, false
	}
	return t.h[fd], true
}

// at is get for callers that know fd is open.
func (t *fdTable) at(fd int) Handle {
	h, _ := t.get(fd)
	return h
}

func (t *fdTable) set(fd int, h Handle) {
	for fd >= len(t.h) {
		t.h = append(t.h, nil)
	}
	t.h[fd] = h
}

func (t *fdTable) del(fd int) {
	if fd >= 0 && fd < len(t.h) {
		t.h[fd] = nil
	}
}
