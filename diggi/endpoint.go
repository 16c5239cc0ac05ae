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

	inReady       atomic.Bool // listed in mover.ready
	moverWaiting  atomic.Bool // the mover waits for room in in
	senderWaiting atomic.Bool // the agent waits for room in out
	spaceMu       sync.Mutex
	spaceCh       chan struct{} // closed when the mover makes room in out
	armed         atomic.Bool   // a drain task is scheduled or running
	gone          atomic.Bool   // detached: deliveries fail

	blocked   []*endpoint // mover: sources waiting for room in in
	blockedOn *endpoint   // mover: the destination this source waits for
	overflow  []*Message  // mover: forwarded while in was full
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
	if !e.out.push(m) {
		return false
	}
	if !e.inReady.Load() && e.inReady.CompareAndSwap(false, true) {
		e.mover.ready(e)
	}
	return true
}

// notify makes sure a drain task will look at the inbound queue.
func (e *endpoint) notify() {
	if !e.armed.Load() && e.armed.CompareAndSwap(false, true) {
		e.drain()
	}
}

// popIn takes the next inbound message and tells a waiting mover there is
// room again.
func (e *endpoint) popIn() *Message {
	m := e.in.pop()
	if m != nil && e.moverWaiting.Load() && e.moverWaiting.CompareAndSwap(true, false) {
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

// spaceMade wakes every goroutine waiting in spaceWait.
func (e *endpoint) spaceMade() {
	if !e.senderWaiting.Load() || !e.senderWaiting.CompareAndSwap(true, false) {
		return
	}
	e.spaceMu.Lock()
	if e.spaceCh != nil {
		close(e.spaceCh)
		e.spaceCh = nil
	}
	e.spaceMu.Unlock()
}
