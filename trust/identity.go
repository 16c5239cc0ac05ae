package trust

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
)

// Measurement identifies what runs in an enclave: SHA-256 over the agent's
// code identity and its configuration (the analogue of SGX's MRENCLAVE or a
// confidential VM's launch digest).
type Measurement [32]byte

// Signer identifies who vouches for the code (the analogue of SGX's
// MRSIGNER): SHA-256 over the signer's public key or name.
type Signer [32]byte

func (m Measurement) String() string { return hex.EncodeToString(m[:]) }
func (s Signer) String() string      { return hex.EncodeToString(s[:]) }

// ParseMeasurement decodes a 64-hex-digit measurement.
func ParseMeasurement(s string) (Measurement, error) {
	var m Measurement
	err := parseHex32(s, m[:])
	if err != nil {
		return m, fmt.Errorf("measurement %q: %w", s, err)
	}
	return m, nil
}

// ParseSigner decodes a 64-hex-digit signer identity.
func ParseSigner(s string) (Signer, error) {
	var g Signer
	err := parseHex32(s, g[:])
	if err != nil {
		return g, fmt.Errorf("signer %q: %w", s, err)
	}
	return g, nil
}

func parseHex32(s string, dst []byte) error {
	if len(s) != 64 {
		return fmt.Errorf("want 64 hex digits, got %d characters", len(s))
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}

// SignerFromKey derives a signer identity from a signing public key (or any
// stable byte string naming the party that releases agent builds).
func SignerFromKey(pub []byte) Signer {
	h := sha256.New()
	h.Write([]byte("diggi-signer-v1\x00"))
	h.Write(pub)
	var s Signer
	h.Sum(s[:0])
	return s
}

// CodeIdentity is what the code of an agent is: the hash of the binary that
// runs it and the agent kind within that binary (one binary hosts several
// agent kinds, so the kind is part of the code identity).
type CodeIdentity struct {
	BinaryHash [32]byte
	Kind       string
}

// Measure computes the measurement of an agent: its code identity and its
// canonical configuration bytes. Changing any of them changes the result.
// Fields are length-prefixed so that no two different inputs hash alike.
func Measure(id CodeIdentity, config []byte) Measurement {
	h := sha256.New()
	h.Write([]byte("diggi-measurement-v1\x00"))
	h.Write(id.BinaryHash[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(id.Kind)))
	h.Write(n[:])
	h.Write([]byte(id.Kind))
	binary.BigEndian.PutUint64(n[:], uint64(len(config)))
	h.Write(n[:])
	h.Write(config)
	var m Measurement
	h.Sum(m[:0])
	return m
}

// ExecutableHash returns SHA-256 of the running binary. It is computed once
// per process: the binary does not change while it runs.
func ExecutableHash() ([32]byte, error) { return executableHash() }

var executableHash = sync.OnceValues(func() ([32]byte, error) {
	var sum [32]byte
	path, err := os.Executable()
	if err != nil {
		return sum, fmt.Errorf("locate executable: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return sum, fmt.Errorf("open executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, fmt.Errorf("hash executable %s: %w", path, err)
	}
	h.Sum(sum[:0])
	return sum, nil
})
