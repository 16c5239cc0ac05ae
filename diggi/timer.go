package diggi

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// Timers come from outside (DESIGN.md invariant 6): the untrusted runtime
// owns the clock and delivers ticks to the agent as TypeTimer messages from
// the agent-agent, through the same router as everything else. An agent
// never reads a clock it has to trust.

// timerSet is a manager's timers. The map is agent state (baton only); the
// gate lets shutdown wait for time.AfterFunc callbacks in flight.
type timerSet struct {
	mm     *Manager
	next   uint64
	byID   map[uint64]*timer
	gate   sync.RWMutex
	closed bool // under gate
}

type timer struct {
	id        uint64
	period    time.Duration
	fn        func(now time.Time)
	t         *time.Timer
	pending   atomic.Bool // a tick is in flight: further ticks coalesce
	cancelled atomic.Bool
}

func (ts *timerSet) init(mm *Manager) {
	ts.mm = mm
	ts.byID = map[uint64]*timer{}
}

// After runs fn on the agent once, d from now, with the runtime's time.
// The returned cancel must be called under the baton.
func (mm *Manager) After(d time.Duration, fn func(now time.Time)) (cancel func()) {
	return mm.timers.add(d, 0, fn)
}

// Every runs fn on the agent every d until cancelled. Ticks the agent has
// not consumed yet coalesce: a busy agent sees fewer ticks, never a backlog.
func (mm *Manager) Every(d time.Duration, fn func(now time.Time)) (cancel func()) {
	if d <= 0 {
		d = time.Millisecond
	}
	return mm.timers.add(d, d, fn)
}

func (ts *timerSet) add(d, period time.Duration, fn func(time.Time)) func() {
	ts.next++
	tm := &timer{id: ts.next, period: period, fn: fn}
	ts.byID[tm.id] = tm
	// Under the gate so that tick, which takes it too, sees tm.t set.
	ts.gate.Lock()
	tm.t = time.AfterFunc(d, func() { ts.tick(tm) })
	ts.gate.Unlock()
	return func() { ts.cancel(tm) }
}

func (ts *timerSet) cancel(tm *timer) {
	tm.cancelled.Store(true)
	tm.t.Stop()
	delete(ts.byID, tm.id)
}

// tick runs on the time package's goroutine: it injects one timer message.
func (ts *timerSet) tick(tm *timer) {
	ts.gate.RLock()
	defer ts.gate.RUnlock()
	if ts.closed || tm.cancelled.Load() {
		return
	}
	if tm.pending.CompareAndSwap(false, true) {
		m := NewMessage(16)
		binary.BigEndian.PutUint64(m.buf[0:], tm.id)
		binary.BigEndian.PutUint64(m.buf[8:], uint64(time.Now().UnixNano()))
		m.Src = ts.mm.runtime
		m.Dst = ts.mm.self.ID
		m.Type = TypeTimer
		ts.mm.ep.mover.inject(m)
	}
	if tm.period > 0 {
		tm.t.Reset(tm.period)
	}
}

// fire delivers a tick under the baton.
func (ts *timerSet) fire(m *Message) {
	if m.Len != 16 {
		return
	}
	id := binary.BigEndian.Uint64(m.buf[0:])
	tm, ok := ts.byID[id]
	if !ok {
		return
	}
	tm.pending.Store(false)
	if tm.period == 0 {
		delete(ts.byID, id)
	}
	tm.fn(time.Unix(0, int64(binary.BigEndian.Uint64(m.buf[8:]))))
}

// stopAll cancels every timer and waits for callbacks in flight.
func (ts *timerSet) stopAll() {
	ts.gate.Lock()
	ts.closed = true
	ts.gate.Unlock()
	for _, tm := range ts.byID {
		ts.cancel(tm)
	}
}
