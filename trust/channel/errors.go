package channel

import "errors"

// Errors returned by Handshake.Step and Channel.Open/Seal.
var (
	// ErrHandshake means the handshake failed (bad message, wrong state,
	// failed cryptography). The handshake cannot continue.
	ErrHandshake = errors.New("channel: handshake failed")
	// ErrPeerNotAttested means the policy requires peer evidence and the
	// peer sent none.
	ErrPeerNotAttested = errors.New("channel: peer did not attest")
	// ErrMalformed means a record is too short or has an unknown version or type.
	ErrMalformed = errors.New("channel: malformed record")
	// ErrTampered means a record failed authentication: modified, forged,
	// injected, or from another channel.
	ErrTampered = errors.New("channel: record failed authentication")
	// ErrReplay means an authentic record arrived again (or a stale one).
	ErrReplay = errors.New("channel: replayed record")
	// ErrGap means an authentic record arrived ahead of one that is
	// missing (dropped or reordered). The receiving direction is broken.
	ErrGap = errors.New("channel: sequence gap (dropped or reordered record)")
	// ErrBroken means the receiving direction broke on an earlier gap.
	ErrBroken = errors.New("channel: receive direction broken by an earlier gap")
	// ErrExhausted means the sequence or epoch space is used up; open a
	// new channel.
	ErrExhausted = errors.New("channel: sequence space exhausted")
	// ErrOverlap means dst and the input share memory in a layout other
	// than the documented in-place one.
	ErrOverlap = errors.New("channel: output buffer overlaps input")
	// ErrTooLarge means a plaintext exceeds MaxPlaintext.
	ErrTooLarge = errors.New("channel: plaintext too large")
)
