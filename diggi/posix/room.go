package posix

import (
	"errors"

	"github.com/securecached/securecached/diggi"
)

// Room in the outbound queue, and how nobody waits for it in vain.
//
// Everything the POSIX layer sends goes through the agent's bounded
// outbound queue (diggi.Manager.TryPost). The layer never waits for room
// there: a blocking wait would hand the agent's baton away in the middle
// of a Close or an Uncork, and let another task run inside the caller.
// Instead:
//
//   - A control segment (connect, accept, window grant, FIN, reset) or a
//     corked batch that finds the queue full is kept in s.unsent, in the
//     order it was made, and sent from the room task. The list is bounded
//     without a limit of its own: a data write is refused while it is not
//     empty (so at most one batch is in it), and a socket adds at most a
//     connect or accept, five window grants (one per quarter of its
//     window and one that grows it, window.go: no more data comes in
//     until they are sent) and a FIN or reset.
//   - A write refused for lack of room (tryWrite), and a socket that Poll
//     reports unwritable for lack of room although its window is open, is
//     listed in s.roomWaiter.
//   - Either arms the Manager's room notification (Manager.AwaitRoom),
//     whose invariant guarantees that onRoom runs, as a task, once room may
//     have appeared after the refusal.
//   - onRoom sends s.unsent in order; once it is empty it bumps every
//     listed socket, which wakes its blocking writers and pollers and
//     schedules its write events (handleBase.bump). If the queue fills
//     again first it arms the notification again and keeps the list.
//
// So a writer refused for lack of room, blocking or not, through a write
// event (PERSIST or not) or poll, is always woken when room appears. A
// writer refused for lack of window is woken by the peer's window grant,
// which bumps the socket when it arrives (onSegment); the grant itself is
// a control segment, never lost, by the first rule.

// unsentSeg is a segment (or batch) waiting for room, with its payload
// copied.
type unsentSeg struct {
	peer    diggi.AgentID
	session uint64
	payload []byte
}

// roomNow reports whether a segment would leave now, behind nothing.
func (s *Sys) roomNow() bool { return len(s.unsent) == 0 && s.mm.CanPost() }

// out sends the payload hdr||data to peer in session, or, when the
// outbound queue is full or older segments still wait, keeps a copy to
// send in order once room appears. It never waits; an error means the
// message can never be sent (the peer is unknown, the agent stopped).
func (s *Sys) out(peer diggi.AgentID, session uint64, hdr, data []byte) error {
	if len(s.unsent) == 0 {
		err := s.mm.TryPostPrefixed(peer, diggi.TypeNetIO, session, hdr, data)
		if !errors.Is(err, diggi.ErrWouldBlock) {
			return err
		}
	}
	s.unsent = append(s.unsent, unsentSeg{peer: peer, session: session, payload: append(append([]byte(nil), hdr...), data...)})
	s.mm.AwaitRoom()
	return nil
}

// waitRoom lists sk to be bumped once room appears.
func (s *Sys) waitRoom(sk *socket) {
	if !sk.roomWait {
		sk.roomWait = true
		s.roomWaiter = append(s.roomWaiter, sk)
	}
	s.mm.AwaitRoom()
}

// onRoom is the Manager's room task: it sends what waited for room, then
// wakes the sockets refused for lack of it.
func (s *Sys) onRoom() {
	for len(s.unsent) > 0 {
		u := s.unsent[0]
		err := s.mm.TryPost(u.peer, diggi.TypeNetIO, u.session, u.payload)
		if errors.Is(err, diggi.ErrWouldBlock) {
			s.mm.AwaitRoom()
			return
		}
		if err != nil && !errors.Is(err, diggi.ErrStopped) {
			s.ctx.Log().Warn("socket segment not sent", "to", u.peer, "err", err)
		}
		s.unsent[0] = unsentSeg{}
		s.unsent = s.unsent[1:]
	}
	s.unsent = nil
	waiters := s.roomWaiter
	s.roomWaiter = nil
	for _, sk := range waiters {
		sk.roomWait = false
		sk.bump(sk)
	}
	s.bump() // pollers
}
