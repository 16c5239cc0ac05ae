package posix

// Events is a set of readiness conditions, the revents of poll(2).
type Events uint16

// Readiness conditions.
const (
	PollIn   Events = 1 << iota // data (or a connection to accept) is waiting
	PollOut                     // a write would make progress
	PollHup                     // the peer closed: reads will see EOF
	PollErr                     // the connection failed or was reset
	PollNval                    // not an open descriptor
)

// HandleType says what a descriptor is.
type HandleType uint8

// Handle types.
const (
	HandleSocket HandleType = iota + 1
	HandlePipe
)

func (t HandleType) String() string {
	switch t {
	case HandleSocket:
		return "socket"
	case HandlePipe:
		return "pipe"
	}
	return "unknown"
}

// Handle is the thesis's handle abstraction (§4.4, Listing 4.2): what every
// descriptor type implements so that events and poll work the same for
// sockets and pipes. Methods run under the agent's baton.
type Handle interface {
	// Poll returns the descriptor's current readiness.
	Poll() Events
	// Type says what kind of descriptor this is.
	Type() HandleType
	// RegisterEvent calls cb (as a task of the agent) when the handle has
	// input: data, a connection to accept, EOF or an error. persistent
	// keeps the registration after a call and reschedules it while input
	// remains and the callback keeps consuming it (messageDrain).
	RegisterEvent(cb func(ev Events), persistent bool)
	// UnregisterEvent removes the registration.
	UnregisterEvent()
	// progress counts bytes (or connections) consumed so far; the
	// rescheduling loop uses it to tell a draining callback from one
	// that leaves its input alone.
	progress() uint64
	// base returns the shared event and wake-up state.
	base() *handleBase
	// tryRead reads what is available now, or fails with EAGAIN.
	tryRead(p []byte) (int, error)
	// tryWrite writes what fits now, skipping the first skip bytes of
	// bufs, or fails with EAGAIN. It never waits. A handle that refuses
	// with EAGAIN has arranged to be bumped when it may take more (see
	// Sys.waitRoom): that is what lets a blocking write wait on the
	// handle's state alone.
	tryWrite(bufs [][]byte, skip int) (int, error)
	close() error
}

// handleBase is the event and wake-up state every handle embeds.
type handleBase struct {
	sys      *Sys
	fd       int
	changed  chan struct{} // closed on the next state change; nil if nobody waits
	events   []*Event      // events added on this descriptor
	reg      *Event        // RegisterEvent's registration
	gen      uint64        // state changes so far
	nonblock bool
}

func (h *handleBase) base() *handleBase { return h }

// wait returns a channel closed at the handle's next state change.
func (h *handleBase) wait() <-chan struct{} {
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	return h.changed
}

// bump records a state change: wakes waiters and pollers and schedules the
// callbacks of events that are now ready.
func (h *handleBase) bump(self Handle) {
	h.gen++
	if h.changed != nil {
		close(h.changed)
		h.changed = nil
	}
	h.sys.bump()
	if len(h.events) == 0 && h.reg == nil {
		return
	}
	ready := self.Poll()
	for _, ev := range h.events {
		ev.trigger(ready)
	}
	if h.reg != nil {
		h.reg.trigger(ready)
	}
}

// RegisterEvent implements Handle for every handle type.
func (h *handleBase) RegisterEvent(cb func(ev Events), persistent bool) {
	flags := EvRead
	if persistent {
		flags |= EvPersist
	}
	ev := &Event{}
	h.sys.EventSet(ev, h.fd, flags, func(_ int, _ EvFlags) { cb(h.sys.fds.at(h.fd).Poll()) })
	h.reg = ev
	ev.pending = true
	ev.trigger(h.sys.fds.at(h.fd).Poll())
}

// UnregisterEvent implements Handle for every handle type.
func (h *handleBase) UnregisterEvent() {
	if h.reg != nil {
		h.reg.pending = false
		h.reg = nil
	}
}
