package diggi

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// moveBatch bounds how many messages the mover takes from one source per
// round, so that one busy sender cannot starve the others.
const moveBatch = 256

// mover is the global message scheduler's thread (§3.3): it moves messages
// from outbound to inbound queues by agent id. Unlike the thesis's, it
// sleeps when no queue has work; senders and receivers wake it through
// mu-protected lists, so there is one wake-up per batch, not per message.
type mover struct {
	router Router
	local  InstanceID
	// direct: the router is the default one, so a sender may do the
	// routing step itself when nothing of its own is queued (see
	// endpoint.tryDirect).
	direct bool
	tap    func(*Message) // InstanceOptions.QueueTap

	mu       sync.Mutex
	readyQ   []*endpoint // sources with outbound messages
	freedQ   []*endpoint // destinations that made room after being full
	sysQ     []*Message  // messages injected by the runtime (timers)
	sleeping atomic.Bool
	wake     chan struct{}
	quit     chan struct{}
	exited   chan struct{}

	table atomic.Pointer[map[AgentID]*endpoint]

	// mover-only scratch, reused every round
	curReady, curFreed []*endpoint
	curSys             []*Message
	touched            []*endpoint
	again              []*endpoint

	bounced atomic.Uint64
	dropped atomic.Uint64
}

func newMover(local InstanceID, r Router, tap func(*Message)) *mover {
	direct := r == nil
	if r == nil {
		r = Direct
	}
	m := &mover{
		tap:    tap,
		direct: direct,
		router: r,
		local:  local,
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	empty := map[AgentID]*endpoint{}
	m.table.Store(&empty)
	return m
}

// attach adds an endpoint to the routing table (copy on write: lookups on
// the hot path take no lock).
func (m *mover) attach(e *endpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.table.Load()
	if _, dup := old[e.id]; dup {
		return fmt.Errorf("attach agent %s: id in use", e.id)
	}
	next := make(map[AgentID]*endpoint, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[e.id] = e
	m.table.Store(&next)
	return nil
}

func (m *mover) lookup(id AgentID) *endpoint { return (*m.table.Load())[id] }

func (m *mover) kick() {
	if m.sleeping.Load() {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// ready lists a source whose outbound queue has messages.
func (m *mover) ready(e *endpoint) {
	m.mu.Lock()
	m.readyQ = append(m.readyQ, e)
	m.mu.Unlock()
	m.kick()
}

// freed lists a destination that has room again after the mover waited.
func (m *mover) freed(e *endpoint) {
	m.mu.Lock()
	m.freedQ = append(m.freedQ, e)
	m.mu.Unlock()
	m.kick()
}

// inject queues a runtime message (a timer tick). Callers bound how many
// they have outstanding.
func (m *mover) inject(msg *Message) {
	m.mu.Lock()
	m.sysQ = append(m.sysQ, msg)
	m.mu.Unlock()
	m.kick()
}

func (m *mover) start() { go m.loop() }

// stop ends the mover goroutine and releases messages it still held.
func (m *mover) stop() {
	close(m.quit)
	<-m.exited
	m.mu.Lock()
	for _, msg := range m.sysQ {
		Release(msg)
	}
	m.sysQ = nil
	m.mu.Unlock()
	for _, e := range *m.table.Load() {
		e.inMu.Lock()
		for _, msg := range e.overflow {
			Release(msg)
		}
		e.overflow = nil
		e.inMu.Unlock()
	}
}

func (m *mover) loop() {
	defer close(m.exited)
	for {
		m.sleeping.Store(true)
		m.mu.Lock()
		for len(m.readyQ) == 0 && len(m.freedQ) == 0 && len(m.sysQ) == 0 {
			m.mu.Unlock()
			if !m.spinForWork() {
				select {
				case <-m.wake:
				case <-m.quit:
					return
				}
			}
			m.mu.Lock()
		}
		m.sleeping.Store(false)
		m.curReady, m.readyQ = m.readyQ, m.curReady[:0]
		m.curFreed, m.freedQ = m.freedQ, m.curFreed[:0]
		m.curSys, m.sysQ = m.sysQ, m.curSys[:0]
		m.mu.Unlock()
		m.round()
		select {
		case <-m.quit:
			return
		default:
		}
	}
}

// spinForWork waits up to spinFor for a kick without parking the mover
// goroutine (see spinFor): under steady traffic the next message comes
// sooner than a park and wake-up would take.
func (m *mover) spinForWork() bool {
	return spinUntil(spinFor, func() bool {
		select {
		case <-m.wake:
			return true
		default:
			return false
		}
	})
}

// round moves one batch from every source that has work, then wakes the
// destinations that received messages.
func (m *mover) round() {
	for _, d := range m.curFreed {
		m.flushOverflow(d)
		for _, src := range d.blocked {
			if src.blockedOn == d {
				src.blockedOn = nil
				m.curReady = append(m.curReady, src)
			}
		}
		clear(d.blocked)
		d.blocked = d.blocked[:0]
	}
	for i, msg := range m.curSys {
		m.curSys[i] = nil
		m.router.Route(msg, m)
	}
	again := false
	for i, src := range m.curReady {
		m.curReady[i] = nil
		if m.pump(src) && src.inReady.CompareAndSwap(false, true) {
			m.again = append(m.again, src) // more to move: next round
			again = true
		}
	}
	for i, d := range m.touched {
		d.touched = false
		m.touched[i] = nil
		d.notify()
	}
	m.touched = m.touched[:0]
	if again {
		m.mu.Lock()
		m.readyQ = append(m.readyQ, m.again...)
		m.mu.Unlock()
		clear(m.again)
		m.again = m.again[:0]
	}
}

// pump moves up to moveBatch messages from src's outbound queue and reports
// whether src still has messages that are not waiting on a full
// destination.
func (m *mover) pump(src *endpoint) bool {
	src.inReady.Store(false)
	if src.blockedOn != nil {
		return false
	}
	for n := 0; n < moveBatch; n++ {
		msg := src.out.peek()
		if msg == nil {
			return false
		}
		if dst := m.lookup(msg.Dst); dst != nil && !m.room(dst) {
			dst.blocked = append(dst.blocked, src)
			src.blockedOn = dst
			dst.moverWaiting.Store(true)
			dst.notify() // its drain task must be running to ever free us
			if !m.room(dst) {
				return false
			}
			src.blockedOn = nil // it drained meanwhile; the stale entry is harmless
		}
		src.out.pop()
		src.spaceMade()
		m.router.Route(msg, m)
		src.routed.Add(1)
	}
	return src.out.len() > 0
}

// room reports whether dst's inbound queue can take a message, moving its
// overflow in first.
func (m *mover) room(dst *endpoint) bool {
	dst.inMu.Lock()
	defer dst.inMu.Unlock()
	if len(dst.overflow) > 0 {
		m.flushOverflowLocked(dst)
		if len(dst.overflow) > 0 {
			return false
		}
	}
	return !dst.in.full()
}

func (m *mover) flushOverflow(d *endpoint) {
	d.inMu.Lock()
	m.flushOverflowLocked(d)
	d.inMu.Unlock()
}

// flushOverflowLocked moves what fits of d's overflow into its inbound
// queue. d.inMu is held.
func (m *mover) flushOverflowLocked(d *endpoint) {
	n := 0
	for n < len(d.overflow) && d.in.push(d.overflow[n]) {
		d.overflow[n] = nil
		n++
	}
	if n > 0 {
		d.overflow = append(d.overflow[:0], d.overflow[n:]...)
		m.touch(d)
	}
}

func (m *mover) touch(d *endpoint) {
	if !d.touched {
		d.touched = true
		m.touched = append(m.touched, d)
	}
}

// Forward implements Forwarder for the mover's routers.
func (m *mover) Forward(msg *Message) error {
	dst := m.lookup(msg.Dst)
	if dst == nil || dst.gone.Load() {
		err := fmt.Errorf("forward to %s: %w", msg.Dst, ErrUnknownAgent)
		m.bounce(msg, err)
		return err
	}
	dst.pushIn(msg)
	m.touch(dst)
	return nil
}

// bounce answers an undeliverable request with an error response from the
// runtime (local agent 0), so a caller waiting for it does not hang, and
// releases everything else.
func (m *mover) bounce(msg *Message, why error) {
	src := m.lookup(msg.Src)
	if msg.Type != TypeRequest || src == nil || src.gone.Load() {
		m.dropped.Add(1)
		Release(msg)
		return
	}
	m.bounced.Add(1)
	text := bounceText(msg, why)
	session := msg.Session
	to := msg.Src
	Release(msg)
	r := NewMessage(len(text))
	copy(r.buf, text)
	r.Src = MakeAgentID(to.Instance(), 0)
	r.Dst = to
	r.Type = TypeResponse
	r.Flags = FlagError
	r.Session = session
	src.pushIn(r)
	m.touch(src)
}
