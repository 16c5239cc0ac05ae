package diggi

// Channel protects the payloads exchanged by one pair of agents. The trust
// layer implements it (AEAD with keys from an attested exchange); the
// message manager applies it on send, before a message enters the untrusted
// queues, and on delivery, before any handler sees it.
//
// Seal receives the header with Src, Dst, Type, Session and Seq set (Seq
// counts messages from Src to Dst, from 1); Flags and Len are written by the
// runtime after sealing, so a Channel must not authenticate them. Seal
// protects the payload prefix||plaintext, read from the two slices where
// they lie (a socket segment's header and the caller's bytes: joining them
// first would copy every payload once more); Open returns the joined
// payload. Seal and Open append their result to out and return it; out
// never overlaps prefix, and may alias the input only where it starts
// (in-place AEAD; Seal only with an empty prefix), so implementations must
// allow exact overlap.
//
// A Channel is only used under its agent's baton: it needs no locking.
type Channel interface {
	Seal(out []byte, h *Header, prefix, plaintext []byte) ([]byte, error)
	Open(out []byte, h *Header, sealed []byte) ([]byte, error)
	// Overhead is the most Seal adds to a payload.
	Overhead() int
}

// ChannelFactory returns the channel between a local agent (self) and a
// peer, or nil for plaintext. The message manager asks once per peer, on the
// first message either way, and caches the answer (an error is cached too:
// sends to that peer fail, messages from it are dropped). Both agents of a
// pair ask independently; the factory makes their channels agree. Messages
// from the runtime itself (local agent 0: timers, delivery errors) never go
// through a channel.
type ChannelFactory func(self, peer Info) (Channel, error)
