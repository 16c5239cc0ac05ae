package diggi

import "sync/atomic"

// ring is a bounded single-producer single-consumer queue of messages, the
// lock-free form of an agent's inbound or outbound queue (§3.3). Exactly one
// goroutine at a time may push (for an outbound queue: the agent's baton
// holder; for an inbound queue: the router) and one may pop. Head and tail
// sit on separate cache lines so producer and consumer do not false-share.
type ring struct {
	head atomic.Uint64 // next slot to pop; written by the consumer
	_    [56]byte
	tail atomic.Uint64 // next slot to push; written by the producer
	_    [56]byte
	mask uint64
	slot []atomic.Pointer[Message]
}

func newRing(capacity int) *ring {
	n := 1
	for n < capacity {
		n <<= 1
	}
	return &ring{mask: uint64(n - 1), slot: make([]atomic.Pointer[Message], n)}
}

func (r *ring) capacity() int { return len(r.slot) }

// push appends m and reports false if the queue is full.
func (r *ring) push(m *Message) bool {
	t := r.tail.Load()
	if t-r.head.Load() >= uint64(len(r.slot)) {
		return false
	}
	r.slot[t&r.mask].Store(m)
	r.tail.Store(t + 1)
	return true
}

// peek returns the oldest message without removing it, or nil.
func (r *ring) peek() *Message {
	h := r.head.Load()
	if h == r.tail.Load() {
		return nil
	}
	return r.slot[h&r.mask].Load()
}

// pop removes and returns the oldest message, or nil if empty.
func (r *ring) pop() *Message {
	h := r.head.Load()
	if h == r.tail.Load() {
		return nil
	}
	m := r.slot[h&r.mask].Swap(nil)
	r.head.Store(h + 1)
	return m
}

// len is a snapshot of the number of queued messages.
func (r *ring) len() int { return int(r.tail.Load() - r.head.Load()) }

// full reports whether a push would fail now.
func (r *ring) full() bool { return r.len() >= len(r.slot) }
