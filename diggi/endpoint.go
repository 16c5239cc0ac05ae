package diggi

import (
	"sync"
	"sync/atomic"
)

// endpoint is the runtime's view of one agent: its two bounded queues and
// the flags the mover, the sender and the receiver use to wake each other
// without polling. Fields marked "mover" are touched only by the mover
// goroutine.
type endpoint struct {
	id    AgentID
	in    *ring // router → agent; producer: mover, consumer: drain task
	out   *ring // agent → router; producer: baton holder, consumer: mover
	mover *mover
	drain func() // schedules the agent's drain task when armed is won
	// hold keeps a direct delivery to dst from waking dst while the
	// sending agent holds its deliveries (Manager.Hold); false means
	// notify as usual. help runs dst's drain and queued tasks on the
	// calling goroutine (see Held.Run).
	hold func(dst *endpoint) bool
	help func(d *delivery) (held []*endpoint, ran bool)

	inReady       atomic.Bool // listed in mover.ready
	moverWaiting  atomic.Bool // the mover waits for room in in
	senderWaiting atomic.Bool // the agent waits for room in out
	roomArmed     atomic.Bool // a non-blocking sender waits for room (Manager.AwaitRoom)
	room          func()      // schedules the agent's OnRoom task
	spaceMu       sync.Mutex
	spaceCh       chan struct{} // closed when the mover makes room in out
	// consumedCh is closed once out's head reaches consumedAt (0: nobody
	// waits); see consumedWait. Under spaceMu, like spaceCh.
	consumedCh chan struct{}
	consumedAt atomic.Uint64
	armed      atomic.Bool // a drain task is scheduled or running
	gone       atomic.Bool // detached: deliveries fail

	// routed counts the messages of out the mover has routed; when it
	// equals out's tail nothing the agent sent is still on its way, so a
	// direct delivery cannot overtake one.
	routed atomic.Uint64

	// inMu serialises the producers of in: the mover and senders
	// delivering directly. overflow is under it too.
	inMu     sync.Mutex
	overflow []*Message // forwarded while in was full

	blocked   []*endpoint // mover: sources waiting for room in in
	blockedOn *endpoint   // mover: the destination this source waits for
	touched   bool        // mover: received messages this round
}

func newEndpoint(id AgentID, m *mover, queueSize int) *endpoint {
	return &endpoint{
		id:    id,
		in:    newRing(queueSize),
		out:   newRing(queueSize),
		mover: m,
	}
}

// pushOut queues m for the router; false means the outbound queue is full.
// Only the agent's baton holder calls it.
func (e *endpoint) pushOut(m *Message) bool {
	if e.mover.tap != nil {
		e.mover.tap(m)
	}
	if !e.out.push(m) {
		return false
	}
	if !e.inReady.Load() && e.inReady.CompareAndSwap(false, true) {
		e.mover.ready(e)
	}
	return true
}

// pushIn delivers m to the inbound queue, or to the overflow list behind
// earlier messages when the queue is full (only the mover does that).
func (e *endpoint) pushIn(m *Message) {
	if e.mover.tap != nil {
		e.mover.tap(m)
	}
	e.inMu.Lock()
	if len(e.overflow) > 0 || !e.in.push(m) {
		e.overflow = append(e.overflow, m)
		e.moverWaiting.Store(true)
	}
	e.inMu.Unlock()
}

// tryDirect is the routing step done by the sender itself, for an
// instance with the default router: when every message the sender queued
// before has been routed, and the destination has room, m goes straight
// into the destination's inbound queue. That saves the mover's wake-up
// and a goroutine hand-off on every uncontended message, and keeps
// per-sender FIFO order (a message still in out, or in the destination's
// overflow, makes the sender use the queue). Called under the sender's
// baton; false means m is still the caller's.
func (e *endpoint) tryDirect(m *Message) bool {
	if !e.mover.direct || e.routed.Load() != e.out.tail.Load() {
		return false
	}
	dst := e.mover.lookup(m.Dst)
	if dst == nil || dst.gone.Load() {
		return false // the mover bounces it
	}
	if e.mover.tap != nil {
		e.mover.tap(m)
	}
	dst.inMu.Lock()
	ok := len(dst.overflow) == 0 && dst.in.push(m)
	dst.inMu.Unlock()
	if ok && !e.hold(dst) {
		dst.notify()
	}
	return ok
}

// The drain token (armed). Whoever holds it is the inbound queue's one
// consumer, or has scheduled the task that will be: a drain task on a
// worker, or a run-to-completion help (Held.Run). It changes hands only
// here: arm takes it, disarm gives it up. Invariant: a message pushed into
// in is seen by a drain, because the pusher calls notify after the push,
// and a drain that finds the queue empty disarms and then looks again
// (disarm), so either it sees the message or the pusher's arm succeeds.

// arm takes the drain token if nobody holds it.
func (e *endpoint) arm() bool { return !e.armed.Load() && e.armed.CompareAndSwap(false, true) }

// disarm gives the token up; it reports true, holding the token again,
// if a message came in that the holder may not have seen.
func (e *endpoint) disarm() bool {
	e.armed.Store(false)
	return e.in.len() > 0 && e.armed.CompareAndSwap(false, true)
}

// notify makes sure a drain task will look at the inbound queue.
func (e *endpoint) notify() {
	if e.arm() {
		e.drain()
	}
}

// popIn takes the next inbound message and tells a waiting mover there is
// room again once the queue is down to half: the mover then refills it in
// one batch instead of trading one message per wake-up with the receiver
// (which would keep a slow receiver, one that decrypts, in lockstep with
// the mover and its sender).
func (e *endpoint) popIn() *Message {
	m := e.in.pop()
	if m != nil && e.moverWaiting.Load() && e.in.len() <= e.in.capacity()/2 && e.moverWaiting.CompareAndSwap(true, false) {
		e.mover.freed(e)
	}
	return m
}

// spaceWait returns a channel that is closed once the mover has taken a
// message from the outbound queue after this call. Several goroutines of
// the agent may wait at once (a task and a blocked handler), so it is a
// broadcast, not a token.
func (e *endpoint) spaceWait() <-chan struct{} {
	e.spaceMu.Lock()
	if e.spaceCh == nil {
		e.spaceCh = make(chan struct{})
	}
	ch := e.spaceCh
	e.spaceMu.Unlock()
	e.senderWaiting.Store(true)
	return ch
}

// consumedWait returns a channel that is closed once the mover has taken
// n messages from out since the endpoint was made (out's head reaches n).
// One goroutine waits at a time. The caller checks the count itself after
// this call: a pop that reached n before it may have come first.
func (e *endpoint) consumedWait(n uint64) <-chan struct{} {
	e.spaceMu.Lock()
	if e.consumedCh == nil {
		e.consumedCh = make(chan struct{})
	}
	ch := e.consumedCh
	e.spaceMu.Unlock()
	e.consumedAt.Store(n)
	return ch
}

// spaceMade wakes every goroutine waiting in spaceWait, and schedules the
// agent's OnRoom task if a non-blocking sender armed it (see
// Manager.AwaitRoom); and it wakes the consumedWait waiter once its count
// is reached. The mover calls it after each pop from out.
func (e *endpoint) spaceMade() {
	if at := e.consumedAt.Load(); at != 0 && e.out.head.Load() >= at && e.consumedAt.CompareAndSwap(at, 0) {
		e.spaceMu.Lock()
		if e.consumedCh != nil {
			close(e.consumedCh)
			e.consumedCh = nil
		}
		e.spaceMu.Unlock()
	}
	if !e.senderWaiting.Load() || !e.senderWaiting.CompareAndSwap(true, false) {
		return
	}
	e.spaceMu.Lock()
	if e.spaceCh != nil {
		close(e.spaceCh)
		e.spaceCh = nil
	}
	e.spaceMu.Unlock()
	if e.roomArmed.Load() && e.roomArmed.Swap(false) {
		e.room()
	}
}
