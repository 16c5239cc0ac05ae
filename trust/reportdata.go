package trust

import "crypto/sha256"

// ReportData is the 64 bytes of caller data an enclave report carries: here
// SHA-256 of a purpose label and a public key, followed by a 32-byte
// freshness nonce chosen by the verifier.
type ReportData [64]byte

// Purposes for BindKey: evidence produced for one use cannot be replayed
// for another.
const (
	PurposeChannel = "diggi-channel-v1"
	PurposeRATLS   = "diggi-ra-tls-v1"
	// PurposeCA binds a certificate request's key for the attestation-
	// gated CA (trust/ca).
	PurposeCA = "diggi-ca-request-v1"
)

// BindKey builds report data that binds key (for the given purpose) and nonce.
func BindKey(purpose string, key []byte, nonce [32]byte) ReportData {
	h := sha256.New()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(key)
	var rd ReportData
	h.Sum(rd[:0])
	copy(rd[32:], nonce[:])
	return rd
}
