package channel

import (
	"crypto/rand"
	"fmt"

	"github.com/flynn/noise"

	"github.com/securecached/securecached/trust"
)

// Wire constants: the first two bytes of every channel message. Version 2
// seals records with AEGIS-128L (version 1 used AES-128-GCM); a peer of the
// other version fails at the first handshake message, not at the first
// record.
const (
	Version       = 2
	typeHS1  byte = 1 // initiator -> responder: e
	typeHS2  byte = 2 // responder -> initiator: e, ee, s, es, [evidence]
	typeHS3  byte = 3 // initiator -> responder: s, se, [evidence]
	typeData byte = 16
)

var prologue = []byte("diggi-channel-v1")

// maxHandshakeMsg bounds handshake input (evidence is a few hundred bytes).
const maxHandshakeMsg = 32 << 10

// Handshake is one side of a channel's key exchange. Drive it with Step
// until it returns a Channel. It is not safe for concurrent use.
type Handshake struct {
	cfg       Config
	initiator bool
	hs        *noise.HandshakeState
	static    []byte // local static public key
	next      byte   // message type expected next (or to write, for the initiator's first)
	failed    error
}

// NewInitiator starts the side that sends the first message; call Step(nil)
// to get it.
func NewInitiator(cfg Config) (*Handshake, error) { return newHandshake(cfg, true) }

// NewResponder starts the side that answers.
func NewResponder(cfg Config) (*Handshake, error) { return newHandshake(cfg, false) }

func newHandshake(cfg Config, initiator bool) (*Handshake, error) {
	rng := cfg.Rand
	if rng == nil {
		rng = rand.Reader
	}
	cfg.Rand = rng
	// Noise_XX_25519_AESGCM_SHA256, with DH on crypto/ecdh (see dh.go).
	cipherSuite := noise.NewCipherSuite(&x25519{}, noise.CipherAESGCM, noise.HashSHA256)
	// A static key per handshake: the evidence, not key continuity, is
	// what identifies the agent, and a fresh key limits what one leaked
	// key exposes.
	static, err := cipherSuite.GenerateKeypair(rng)
	if err != nil {
		return nil, fmt.Errorf("%w: static key: %v", ErrHandshake, err)
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite,
		Random:        rng,
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		Prologue:      prologue,
		StaticKeypair: static,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	h := &Handshake{cfg: cfg, initiator: initiator, hs: hs, static: static.Public, next: typeHS1}
	return h, nil
}

// Step consumes the peer's last handshake message (nil for the initiator's
// first call) and returns the message to send, if any, and the channel
// once this side is done. The initiator is done after writing message 3;
// the responder after reading it. Any error ends the handshake.
func (h *Handshake) Step(in []byte) (out []byte, ch *Channel, err error) {
	if h.failed != nil {
		return nil, nil, h.failed
	}
	out, ch, err = h.step(in)
	if err != nil {
		h.failed = fmt.Errorf("%w: %w", ErrHandshake, err)
		h.cfg.logger().Warn("trust/channel: handshake failed", "channel", h.cfg.Name, "err", err)
		return nil, nil, h.failed
	}
	return out, ch, nil
}

func (h *Handshake) step(in []byte) ([]byte, *Channel, error) {
	switch {
	case h.initiator && h.next == typeHS1:
		if in != nil {
			return nil, nil, fmt.Errorf("initiator's first step takes no input")
		}
		out, _, _, err := h.hs.WriteMessage([]byte{Version, typeHS1}, nil)
		if err != nil {
			return nil, nil, err
		}
		h.next = typeHS2
		return out, nil, nil

	case !h.initiator && h.next == typeHS1:
		if _, err := h.read(in, typeHS1); err != nil {
			return nil, nil, err
		}
		payload, err := h.evidencePayload()
		if err != nil {
			return nil, nil, err
		}
		out, _, _, err := h.hs.WriteMessage([]byte{Version, typeHS2}, payload)
		if err != nil {
			return nil, nil, err
		}
		h.next = typeHS3
		return out, nil, nil

	case h.initiator && h.next == typeHS2:
		payload, err := h.read(in, typeHS2)
		if err != nil {
			return nil, nil, err
		}
		peer, err := h.verifyPeer(payload)
		if err != nil {
			return nil, nil, err
		}
		mine, err := h.evidencePayload()
		if err != nil {
			return nil, nil, err
		}
		out, send, recv, err := h.hs.WriteMessage([]byte{Version, typeHS3}, mine)
		if err != nil {
			return nil, nil, err
		}
		h.next = 0
		ch, err := newChannel(&h.cfg, send.UnsafeKey(), recv.UnsafeKey(), h.hs.ChannelBinding(), peer, true)
		return out, ch, err

	case !h.initiator && h.next == typeHS3:
		payload, recv, send, err := h.readFinal(in)
		if err != nil {
			return nil, nil, err
		}
		peer, err := h.verifyPeer(payload)
		if err != nil {
			return nil, nil, err
		}
		h.next = 0
		ch, err := newChannel(&h.cfg, send.UnsafeKey(), recv.UnsafeKey(), h.hs.ChannelBinding(), peer, false)
		return nil, ch, err
	}
	return nil, nil, fmt.Errorf("handshake already complete")
}

func (h *Handshake) checkHeader(in []byte, want byte) error {
	if len(in) < 2 || len(in) > maxHandshakeMsg {
		return fmt.Errorf("handshake message of %d bytes", len(in))
	}
	if in[0] != Version || in[1] != want {
		return fmt.Errorf("got message version %d type %d, want version %d type %d", in[0], in[1], Version, want)
	}
	return nil
}

func (h *Handshake) read(in []byte, want byte) ([]byte, error) {
	if err := h.checkHeader(in, want); err != nil {
		return nil, err
	}
	payload, _, _, err := h.hs.ReadMessage(nil, in[2:])
	return payload, err
}

func (h *Handshake) readFinal(in []byte) ([]byte, *noise.CipherState, *noise.CipherState, error) {
	if err := h.checkHeader(in, typeHS3); err != nil {
		return nil, nil, nil, err
	}
	return h.hs.ReadMessage(nil, in[2:])
}

// Handshake payloads: flags(1) [evidence]. Flag bit 0: evidence follows.
const flagEvidence = 1

// evidencePayload attests to the local static key, bound to the peer's
// ephemeral key as the freshness nonce.
func (h *Handshake) evidencePayload() ([]byte, error) {
	e := h.cfg.Enclave
	if e == nil || !e.Trusted() {
		return []byte{0}, nil
	}
	var nonce [32]byte
	copy(nonce[:], h.hs.PeerEphemeral())
	ev, err := e.Attest(trust.BindKey(trust.PurposeChannel, h.static, nonce))
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	raw, err := ev.Marshal()
	if err != nil {
		return nil, err
	}
	return append([]byte{flagEvidence}, raw...), nil
}

// verifyPeer checks the peer's evidence against the verifier, if one is
// configured. Without a verifier the peer is unauthenticated (and any
// evidence it sent is ignored, not trusted).
func (h *Handshake) verifyPeer(payload []byte) (*trust.Claims, error) {
	if len(payload) == 0 || payload[0]&^flagEvidence != 0 {
		return nil, fmt.Errorf("bad handshake payload")
	}
	v := h.cfg.Verifier
	if v == nil {
		return nil, nil
	}
	if payload[0]&flagEvidence == 0 {
		return nil, ErrPeerNotAttested
	}
	var nonce [32]byte
	copy(nonce[:], h.hs.LocalEphemeral().Public)
	claims, err := v.VerifyBytes(payload[1:], trust.BindKey(trust.PurposeChannel, h.hs.PeerStatic(), nonce))
	if err != nil {
		return nil, fmt.Errorf("peer evidence: %w", err)
	}
	return claims, nil
}

// HandshakeStep returns which handshake message msg claims to be (1, 2 or
// 3), or 0 if it is not a handshake message of this version. A transport
// that carries handshakes in band uses it to resolve two sides opening at
// once; the claim is checked when the message is stepped.
func HandshakeStep(msg []byte) int {
	if len(msg) < 2 || msg[0] != Version || msg[1] < typeHS1 || msg[1] > typeHS3 {
		return 0
	}
	return int(msg[1])
}
