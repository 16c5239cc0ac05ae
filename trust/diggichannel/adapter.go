package diggichannel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync/atomic"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/channel"
)

// ErrNotEstablished means Seal or Open was called before the handshake
// finished (the runtime holds messages until then, so this is a bug).
var ErrNotEstablished = errors.New("diggichannel: channel handshake not finished")

// Channel is one agent's channel to one peer: a diggi.Channel that is also
// a diggi.Handshaker (it runs the attested Noise handshake in band) and a
// diggi.Breakable (a gap breaks it and the runtime asks for a new one).
//
// Both agents of a pair open with message 1. When the two openings cross,
// the agent with the lower id stays initiator and ignores the peer's
// message 1; the other answers as responder. So a pair always converges,
// including when only one side broke and starts over.
//
// Used under the agent's baton only, like every diggi.Channel.
type Channel struct {
	self, peer diggi.AgentID
	cfg        channel.Config
	initiator  bool
	hs         *channel.Handshake
	hello      []byte // the peer's message 1 this responder answered
	ch         atomic.Pointer[channel.Channel]
	sealAD     [adLen]byte
	openAD     [adLen]byte
}

var (
	_ diggi.Channel    = (*Channel)(nil)
	_ diggi.Handshaker = (*Channel)(nil)
	_ diggi.Breakable  = (*Channel)(nil)
)

// Begin implements diggi.Handshaker: every side opens as initiator.
func (c *Channel) Begin() ([]byte, error) {
	hs, err := channel.NewInitiator(c.cfg)
	if err != nil {
		return nil, err
	}
	out, _, err := hs.Step(nil)
	if err != nil {
		return nil, err
	}
	c.hs, c.initiator = hs, true
	return out, nil
}

// Step implements diggi.Handshaker.
func (c *Channel) Step(in []byte) (out []byte, ready bool, err error) {
	if c.ch.Load() != nil {
		return nil, true, nil
	}
	if channel.HandshakeStep(in) == 1 {
		switch {
		case c.initiator && c.self < c.peer:
			return nil, false, nil // crossed openings: ours wins
		case !c.initiator && c.hs != nil && bytes.Equal(in, c.hello):
			return nil, false, nil // a duplicate of the opening we answered
		}
		hs, err := channel.NewResponder(c.cfg)
		if err != nil {
			return nil, false, err
		}
		c.hs, c.initiator, c.hello = hs, false, bytes.Clone(in)
	}
	if c.hs == nil {
		return nil, false, ErrNotEstablished
	}
	out, ch, err := c.hs.Step(in)
	if err != nil {
		return nil, false, err
	}
	if ch != nil {
		c.hs, c.hello = nil, nil
		c.ch.Store(ch)
		return out, true, nil
	}
	return out, false, nil
}

// Broken implements diggi.Breakable.
func (c *Channel) Broken() bool {
	ch := c.ch.Load()
	return ch != nil && ch.Broken()
}

// adLen is the authenticated part of a diggi header: src, dst, type,
// session, seq. Flags and Len are set by the runtime after sealing.
const adLen = 8 + 8 + 1 + 8 + 8

func headerAD(b *[adLen]byte, h *diggi.Header) []byte {
	binary.BigEndian.PutUint64(b[0:], uint64(h.Src))
	binary.BigEndian.PutUint64(b[8:], uint64(h.Dst))
	b[16] = byte(h.Type)
	binary.BigEndian.PutUint64(b[17:], h.Session)
	binary.BigEndian.PutUint64(b[25:], h.Seq)
	return b[:]
}

// Seal implements diggi.Channel.
func (c *Channel) Seal(out []byte, h *diggi.Header, prefix, plaintext []byte) ([]byte, error) {
	ch := c.ch.Load()
	if ch == nil {
		return out, ErrNotEstablished
	}
	return ch.SealPrefixed(out, prefix, plaintext, headerAD(&c.sealAD, h))
}

// Open implements diggi.Channel; out may be sealed[:0] (in place).
func (c *Channel) Open(out []byte, h *diggi.Header, sealed []byte) ([]byte, error) {
	ch := c.ch.Load()
	if ch == nil {
		return out, ErrNotEstablished
	}
	return ch.Open(out, sealed, headerAD(&c.openAD, h))
}

// Overhead implements diggi.Channel.
func (c *Channel) Overhead() int { return channel.Overhead }

// Established reports whether the handshake finished.
func (c *Channel) Established() bool { return c.ch.Load() != nil }

// Peer returns the peer's verified claims (nil if it did not have to
// attest, or before the handshake finished).
func (c *Channel) Peer() *trust.Claims {
	if ch := c.ch.Load(); ch != nil {
		return ch.Peer()
	}
	return nil
}

// Stats returns the channel's counters (zero before the handshake).
// Safe from any goroutine.
func (c *Channel) Stats() channel.Stats {
	if ch := c.ch.Load(); ch != nil {
		return ch.Stats()
	}
	return channel.Stats{}
}
