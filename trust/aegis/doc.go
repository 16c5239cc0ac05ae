// Package aegis implements the AEGIS-128L authenticated cipher as a
// crypto/cipher.AEAD, following draft-irtf-cfrg-aegis-aead ("The AEGIS
// Family of Authenticated Encryption Algorithms", CFRG).
//
// AEGIS-128L is built from the AES round function alone: a 1024-bit state
// of eight AES blocks absorbs 32 bytes per update, and each update costs
// eight independent AES rounds. It takes a 128-bit key and a 128-bit nonce
// and produces a 128-bit tag (the draft's 256-bit tag option is not
// offered). Seal appends ciphertext||tag, the draft's combined encoding.
//
// Why not AES-GCM: trusted agents seal every record, and Go's AES-GCM pays
// for AES counter mode plus GHASH on top of it. AEGIS uses the same AES-NI
// instruction but needs no carry-less multiplication and no key schedule;
// BenchmarkSeal1KB and BenchmarkGCMSeal1KB measure both side by side. What
// the draft says that matters to us:
//
//   - The nonce is 128 bits and may be public or predictable, such as a
//     counter, so a per-key record sequence number works as the nonce.
//     Random nonces are safe for up to 2^48 messages per key.
//   - Forgery without the key targets 128-bit security. Finding a second
//     key or nonce under which the same (ad, ct, tag) verifies is expected
//     to take ~2^64 attempts with a 128-bit tag (the draft assumes AEGIS is
//     key committing in the receiver-binding game). It is not fully
//     committing: the tag does not commit to the associated data.
//   - Leaking the state does not leak the key or earlier states.
//
// The nonce rule is absolute: never use a nonce twice under the same key.
// Reuse reveals the XOR of the two plaintexts and lets an attacker recover
// the state. Keys must be uniformly random.
//
// Messages and associated data must each be shorter than 2^61 bytes (the
// draft's P_MAX and A_MAX); Seal panics beyond that and Open rejects.
//
// On amd64 with AES-NI the whole cipher runs in assembly with the state in
// XMM registers (using AVX-512VL in the bulk loops where the CPU has it);
// its AES rounds are the AESENC instruction and take constant time. Elsewhere, or when built with the purego tag, a pure Go
// fallback computes the AES round from lookup tables indexed by secret
// state bytes, like crypto/aes's generic code: it is correct but not
// constant-time, and an attacker who can observe cache timing on the same
// machine may learn state bytes. The draft warns that AEGIS is only as safe
// against timing attacks as its AESRound.
//
// This package depends only on the standard library and golang.org/x/sys/cpu.
package aegis
