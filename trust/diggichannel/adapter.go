package diggichannel

import (
	"encoding/binary"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/channel"
)

// Channel adapts a channel.Channel to diggi.Channel.
type Channel struct {
	ch     *channel.Channel
	sealAD [adLen]byte
	openAD [adLen]byte
}

var _ diggi.Channel = (*Channel)(nil)

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
func (c *Channel) Seal(out []byte, h *diggi.Header, plaintext []byte) ([]byte, error) {
	return c.ch.Seal(out, plaintext, headerAD(&c.sealAD, h))
}

// Open implements diggi.Channel; out may be sealed[:0] (in place).
func (c *Channel) Open(out []byte, h *diggi.Header, sealed []byte) ([]byte, error) {
	return c.ch.Open(out, sealed, headerAD(&c.openAD, h))
}

// Overhead implements diggi.Channel.
func (c *Channel) Overhead() int { return channel.Overhead }

// Peer returns the peer's verified claims (nil if it did not have to attest).
func (c *Channel) Peer() *trust.Claims { return c.ch.Peer() }

// Stats returns the channel's counters.
func (c *Channel) Stats() channel.Stats { return c.ch.Stats() }
