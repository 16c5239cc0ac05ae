package posix

import "fmt"

// EvFlags select what an Event waits for (libevent's EV_READ, EV_WRITE,
// EV_PERSIST).
type EvFlags uint8

// Event flags.
const (
	EvRead EvFlags = 1 << iota
	EvWrite
	EvPersist
)

// Event is the libevent subset memcached uses (§4.5): EventSet binds a
// descriptor, flags and callback; EventAdd makes it pending; when the
// descriptor becomes ready the callback runs as a task of the agent. A
// one-shot event stops being pending right before its callback runs; a
// PERSIST event stays pending and, while input remains and the callback
// keeps consuming it, is rescheduled until the handle is drained
// (messageDrain, Listing 4.3). A callback that consumes nothing is not
// rescheduled in a loop: it runs again at the handle's next change, so a
// misbehaving callback cannot spin the agent.
type Event struct {
	sys       *Sys
	fd        int
	what      EvFlags
	cb        func(fd int, what EvFlags)
	pending   bool
	scheduled bool // a fire task is queued
	running   bool // the callback is executing (it may have blocked)
	fireFn    func()
}

// EventSet prepares ev for fd (event_set). It does not make it pending.
func (s *Sys) EventSet(ev *Event, fd int, what EvFlags, cb func(fd int, what EvFlags)) {
	if ev.pending {
		s.EventDel(ev)
	}
	*ev = Event{sys: s, fd: fd, what: what, cb: cb}
	ev.fireFn = ev.fire
}

// EventAdd makes ev pending (event_add); if the descriptor is ready now
// the callback is scheduled at once.
func (s *Sys) EventAdd(ev *Event) error {
	if ev.sys != s || ev.cb == nil {
		return fmt.Errorf("event_add fd %d: %w (event not set on this agent)", ev.fd, EINVAL)
	}
	h, ok := s.fds.get(ev.fd)
	if !ok {
		return fdErr("event_add", ev.fd, EBADF)
	}
	if !ev.pending {
		ev.pending = true
		b := h.base()
		b.events = append(b.events, ev)
	}
	ev.trigger(h.Poll())
	return nil
}

// EventDel makes ev non-pending (event_del); a scheduled callback that has
// not started will not run.
func (s *Sys) EventDel(ev *Event) error {
	if !ev.pending {
		return nil
	}
	ev.pending = false
	if h, ok := s.fds.get(ev.fd); ok {
		b := h.base()
		for i, e := range b.events {
			if e == ev {
				b.events = append(b.events[:i], b.events[i+1:]...)
				break
			}
		}
	}
	return nil
}

// Pending reports whether the event is added.
func (ev *Event) Pending() bool { return ev.pending }

// matches returns the flags of ev that ready satisfies.
func (ev *Event) matches(ready Events) EvFlags {
	var got EvFlags
	if ev.what&EvRead != 0 && ready&(PollIn|PollHup|PollErr|PollNval) != 0 {
		got |= EvRead
	}
	if ev.what&EvWrite != 0 && ready&(PollOut|PollErr|PollNval) != 0 {
		got |= EvWrite
	}
	return got
}

// trigger schedules the callback if ev waits for something ready has.
func (ev *Event) trigger(ready Events) {
	if !ev.pending || ev.scheduled || ev.running || ev.matches(ready) == 0 {
		return
	}
	ev.scheduled = true
	if err := ev.sys.sched.Schedule(ev.fireFn); err != nil {
		ev.scheduled = false
	}
}

// fire runs the callback as a task, then reschedules a persistent event
// whose handle still has what it waits for and whose callback made
// progress.
func (ev *Event) fire() {
	ev.scheduled = false
	if !ev.pending {
		return
	}
	h, ok := ev.sys.fds.get(ev.fd)
	if !ok {
		ev.pending = false
		return
	}
	what := ev.matches(h.Poll())
	if what == 0 {
		return
	}
	if ev.what&EvPersist == 0 {
		ev.sys.EventDel(ev)
	}
	before, gen := h.progress(), h.base().gen
	ev.running = true
	ev.cb(ev.fd, what)
	ev.running = false
	if !ev.pending {
		return
	}
	h, ok = ev.sys.fds.get(ev.fd)
	if !ok {
		ev.pending = false
		return
	}
	if h.progress() != before || h.base().gen != gen {
		ev.trigger(h.Poll())
	}
}
