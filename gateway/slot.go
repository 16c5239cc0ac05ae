package gateway

import "sync/atomic"

// slot is one of -c's connection slots, owned by one client from accept to
// close. It is the only way a slot is given back, and gives it back at
// most once, so a client's slot can neither leak (every path that ends a
// client releases its slot: the epoll relay where its relay state machine
// closes, the goroutine relay when its client ends) nor be freed twice (a
// second release does nothing). Where the slot goes back is free's
// business: the leader's token channel, or a message to the leader from a
// member of its group (see group.go).
type slot struct {
	held atomic.Bool
	free func()
}

func newSlot(free func()) *slot {
	s := &slot{free: free}
	s.held.Store(true)
	return s
}

// release gives the slot back; only the first call does.
func (s *slot) release() {
	if s.held.Swap(false) {
		s.free()
	}
}

// slots counts -c: one token per allowed connection.
type slots struct {
	tokens chan struct{}
	done   <-chan struct{} // closed when the listeners close
}

// take waits for a free slot, or returns nil once done is closed.
func (ss *slots) take() *slot {
	select {
	case ss.tokens <- struct{}{}:
		return newSlot(ss.put)
	case <-ss.done:
		return nil
	}
}

// tryTake takes a free slot if there is one (maxconns_fast).
func (ss *slots) tryTake() *slot {
	select {
	case ss.tokens <- struct{}{}:
		return newSlot(ss.put)
	default:
		return nil
	}
}

// put gives a token back; a stray one (a member's message for a slot the
// leader never lent) finds the channel empty and is ignored.
func (ss *slots) put() {
	select {
	case <-ss.tokens:
	default:
	}
}
