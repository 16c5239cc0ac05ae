// Package channel is the encrypted, attested message channel between two
// Diggi agents, as a pure state machine over byte messages: a Handshake
// turns incoming handshake messages into outgoing ones and finally into a
// Channel, which seals and opens records. It does no I/O and starts no
// goroutines; the runtime carries the bytes (through queues, the router and
// links it does not trust).
//
// # Why Noise and not TLS
//
// The handshake is Noise XX (Noise_XX_25519_AESGCM_SHA256, via
// github.com/flynn/noise) with attestation evidence in the encrypted
// payloads of messages 2 and 3. Noise fits agent messaging where TLS does
// not: it is message-oriented (three byte strings, no stream, no record
// reassembly, no net.Conn and no goroutine per channel), it is a pure state
// machine we can drive message by message in tests, it has no certificate
// or X.509 machinery in the hot path, and XX gives mutual authentication of
// static keys with identity hiding in 1.5 round trips. Each side's
// evidence binds its static key and the peer's fresh ephemeral key
// (trust.BindKey with trust.PurposeChannel), so evidence cannot be replayed
// into another handshake, and the Noise DH operations prove possession of
// the attested key. TLS 1.3 is used where the peer is the outside world and
// already speaks it (trust/ratls).
//
// # Records
//
// After the handshake each direction has its own traffic secret derived
// with HKDF from the Noise split keys and the handshake hash, and an
// AEGIS-128L key expanded from it (trust/aegis; version 1 of the wire
// format used AES-128-GCM). A record is
//
//	ciphertext | tag(16) | version(1) type(1) epoch(4) seq(8)
//
// with the 14-byte trailer and the caller's associated data (the runtime's
// message header) authenticated. The trailer comes last so that a record
// opens in place with the plaintext starting where the record starts. The nonce is the sequence number, which
// rises by one per record and never repeats under one key. The receiver
// accepts exactly the next sequence number: a modified or injected record
// fails authentication, a replayed one has an old number, a dropped or
// reordered one leaves a gap. Each is refused, counted and logged; a gap
// breaks the receiving direction for good (ErrBroken), since in-order
// delivery can no longer be guaranteed, and the runtime must open a new
// channel. Keys ratchet forward (HKDF, old key erased) after a bounded
// number of messages or bytes; the epoch in the trailer tells the receiver.
//
// There is no option to send plaintext: that decision belongs to
// trust.ChannelProtection, which never chooses it for a trusted agent
// whose messages leave its protected memory.
package channel
