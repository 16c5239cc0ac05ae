package diggi

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Handshaker is implemented by a Channel that must exchange messages with
// its peer before it can seal or open: an attested key exchange, for
// example with an agent of another instance. The manager calls Begin when
// the factory returns the channel, carries the handshake messages as
// unsealed TypeHandshake messages (Seq 0: they do not consume the pair's
// sequence numbers), feeds each one to Step, and holds the agent's
// messages for that peer until Step reports the channel ready; then it
// seals and sends them, in order.
//
// If a handshake message arrives for a peer whose channel is already
// established, the peer is starting over (its channel broke): the manager
// forgets the old channel, asks the factory for a new one and steps it.
type Handshaker interface {
	// Begin returns the first handshake message if this side opens the
	// exchange, or nil to wait for the peer's.
	Begin() ([]byte, error)
	// Step consumes one handshake message from the peer and returns the
	// reply to send (nil for none) and whether the channel is ready.
	Step(in []byte) (out []byte, ready bool, err error)
}

// Breakable is implemented by a Channel that can fail for good (a gap in
// the peer's sequence). After a failed Open the manager asks Broken and,
// if true, forgets the channel: the next message to or from that peer asks
// the factory again.
type Breakable interface {
	Broken() bool
}

// maxHeld bounds the messages held for one peer during a handshake; a
// blocking sender waits beyond it, a non-blocking one gets ErrWouldBlock.
const maxHeld = 1024

// errHandshakeAgain reports a peer that restarted a handshake mid-way.
var errHandshakeAgain = errors.New("diggi: peer restarted the channel handshake")

// errSealedBeforeHandshake reports a sealed message that arrived while a
// new handshake with its sender ran, and was dropped.
var errSealedBeforeHandshake = errors.New("diggi: sealed message arrived during a new channel handshake")

// errChannelBroken reports an established channel that was forgotten: the
// peer started over, or a failed Open broke it.
var errChannelBroken = errors.New("diggi: channel broken")

// handshakeTimeout bounds a channel handshake. A handshake message can
// be lost without anyone noticing (dropped by the mover while the link to
// the peer's instance is down, or with a link that breaks); after this
// long the handshake fails its waiters (ErrHandshakeTimeout) and the next
// message to the peer starts a new one. A variable for tests.
var handshakeTimeout = 5 * time.Second

// ErrHandshakeTimeout reports a channel handshake that did not finish
// within its bound.
var ErrHandshakeTimeout = errors.New("diggi: channel handshake timed out")

func (mm *Manager) beginHandshake(p *peer, hs Handshaker) {
	p.hs = hs
	p.heldWait = make(chan struct{})
	p.hsStop = mm.After(handshakeTimeout, func(time.Time) {
		if p.hs != hs || mm.peers[p.id] != p {
			return
		}
		p.hsStop = nil // fired: nothing to cancel
		p.chErr = fmt.Errorf("channel %s to %s: handshake: %w", mm.self, p.id, ErrHandshakeTimeout)
		mm.log.Warn("channel handshake timed out", "peer", p.id, "after", handshakeTimeout)
		mm.endHandshake(p, p.chErr)
		delete(mm.peers, p.id)
		if mm.last == p {
			mm.last = nil
		}
		mm.channelLost(p.id, ErrHandshakeTimeout)
	})
	first, err := hs.Begin()
	if err != nil {
		p.chErr = fmt.Errorf("channel %s to %s: handshake: %w", mm.self, p.id, err)
		// Nothing was held yet: the send that asked for the channel
		// fails with chErr, so nothing is lost unseen.
		mm.endHandshake(p, p.chErr)
		return
	}
	if first != nil {
		mm.sendHandshake(p.id, first)
	}
}

func (mm *Manager) sendHandshake(to AgentID, payload []byte) {
	m := NewMessage(len(payload))
	copy(m.buf, payload)
	m.Header = Header{Src: mm.self.ID, Dst: to, Type: TypeHandshake, Len: uint32(len(payload))}
	if err := mm.enqueue(m, true); err != nil {
		mm.log.Warn("handshake message not sent", "to", to, "err", err)
	}
}

// handshake delivers a TypeHandshake message to the peer's channel.
func (mm *Manager) handshake(m *Message) {
	if m.Src.Local() == 0 || m.Flags&FlagSealed != 0 {
		mm.rejected.Add(1)
		return
	}
	p, err := mm.peerIn(m.Src)
	if err == nil && p.hs == nil && p.ch != nil {
		if _, ok := p.ch.(Handshaker); ok {
			mm.forget(p) // the peer starts over
			p, err = mm.peerIn(m.Src)
		}
	}
	if err != nil || p.hs == nil {
		mm.log.Warn("handshake message dropped", "from", m.Src, "err", err)
		mm.rejected.Add(1)
		return
	}
	out, ready, err := p.hs.Step(m.Payload())
	if out != nil {
		mm.sendHandshake(p.id, out)
	}
	switch {
	case err != nil:
		p.chErr = fmt.Errorf("channel %s to %s: handshake: %w", mm.self, p.id, err)
		mm.log.Warn("channel handshake failed", "peer", p.id, "err", err)
		mm.endHandshake(p, p.chErr)
		mm.channelLost(p.id, p.chErr)
	case ready:
		mm.endHandshake(p, nil)
	}
}

// endHandshake sends the held messages (or, on failure, drops them and
// fails held requests) and wakes senders waiting for room in the hold.
// On failure the caller tells OnChannelLost (channelLost) once its own
// state for the peer is final, because the function may send to the peer.
func (mm *Manager) endHandshake(p *peer, failed error) {
	p.hs = nil
	if p.hsStop != nil {
		p.hsStop()
		p.hsStop = nil
	}
	if failed == nil {
		p.flushing = true
		for len(p.held) > 0 {
			h := p.held[0]
			p.held[0] = nil
			p.held = p.held[1:]
			if err := mm.emit(p, h.Type, h.Flags, h.Session, nil, h.Payload(), true); err != nil {
				mm.log.Warn("held message not sent", "to", p.id, "err", err)
			}
			Release(h)
		}
		p.flushing = false
	} else {
		for _, h := range p.held {
			if h.Type == TypeRequest {
				if cb, ok := mm.pending[h.Session]; ok {
					delete(mm.pending, h.Session)
					cb(nil, failed)
				}
			}
			Release(h)
		}
		p.held = nil
	}
	if p.heldWait != nil {
		close(p.heldWait)
		p.heldWait = nil
	}
	mm.holdRefused = false
	mm.roomMade() // a sender refused by the full hold may go on
}

// hold keeps a message for a peer whose channel is not ready yet.
func (mm *Manager) hold(p *peer, t MsgType, flags Flags, session uint64, prefix, payload []byte, block bool) error {
	for len(p.held) >= maxHeld {
		if !block {
			mm.holdRefused = true // room comes at the handshake's end
			return ErrWouldBlock
		}
		wait := p.heldWait
		if wait == nil {
			break
		}
		// The caller's buffer is only borrowed: other tasks run while
		// this one waits and may reuse it (posix's segment scratch).
		payload = append(bytes.Clone(prefix), payload...)
		prefix = nil
		stopped := false
		mm.sched.Block(func() {
			select {
			case <-wait:
			case <-mm.sched.Done():
				stopped = true
			}
		})
		if stopped {
			return fmt.Errorf("send from %s: %w", mm.self, ErrStopped)
		}
		if p.chErr != nil {
			return p.chErr
		}
		if p.hs == nil && !p.flushing {
			return mm.emit(p, t, flags, session, prefix, payload, block)
		}
	}
	m := NewMessage(len(prefix) + len(payload))
	copy(m.buf[copy(m.buf, prefix):], payload)
	m.Header = Header{Type: t, Flags: flags, Session: session, Len: m.Len}
	p.held = append(p.held, m)
	return nil
}

// linkLost forgets the channels to every agent of instance inst, whose
// link broke (see TypeLinkLost): a handshake in progress fails, so its
// held requests and blocked senders get ErrLinkDown at once instead of
// waiting for a reply the link lost; an established channel is dropped,
// so the next message to or from that agent starts a new handshake and
// waits for it in the hold rather than being sealed under a sequence
// number the peer will refuse after the gap.
func (mm *Manager) linkLost(inst InstanceID) {
	for id, p := range mm.peers {
		if id.Instance() != inst {
			continue
		}
		if p.hs != nil {
			p.chErr = fmt.Errorf("channel %s to %s: handshake: %w", mm.self, p.id, ErrLinkDown)
			mm.endHandshake(p, p.chErr)
		}
		delete(mm.peers, id)
		if mm.last == p {
			mm.last = nil
		}
	}
}

// forget drops a peer's channel state so the next message asks the
// factory again.
func (mm *Manager) forget(p *peer) {
	why := errChannelBroken
	if p.hs != nil {
		why = errHandshakeAgain
		mm.endHandshake(p, why)
	}
	delete(mm.peers, p.id)
	if mm.last == p {
		mm.last = nil
	}
	mm.channelLost(p.id, why)
}
