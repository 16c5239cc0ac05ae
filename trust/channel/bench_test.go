package channel

import (
	"bytes"
	"testing"
)

// BenchmarkHandshakeAttested measures a complete mutual handshake between
// two sim enclaves: three Noise messages, two evidence signatures, two
// evidence verifications (certificate chain and signature).
func BenchmarkHandshakeAttested(b *testing.B) {
	w := newWorld(b)
	ea, eb := w.enclave(b, "client"), w.enclave(b, "cache")
	ac := Config{Enclave: ea, Verifier: w.verifier(b, eb), Logger: quiet}
	bc := Config{Enclave: eb, Verifier: w.verifier(b, ea), Logger: quiet}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := handshake(b, ac, bc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandshakeUnattested is the key exchange alone, for comparison.
func BenchmarkHandshakeUnattested(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := handshake(b, Config{Logger: quiet}, Config{Logger: quiet}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSealOpen(b *testing.B, size int) {
	w := newWorld(b)
	tx, rx := trustedPair(b, w, Config{})
	payload := bytes.Repeat([]byte{'v'}, size)
	buf := make([]byte, 0, size+Overhead)
	aad := make([]byte, 33)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		buf = append(buf[:0], payload...)
		rec, err := tx.Seal(buf[:0], buf, aad)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rx.Open(rec[:0], rec, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChannelSealOpen64B(b *testing.B) { benchSealOpen(b, 64) }
func BenchmarkChannelSealOpen1KB(b *testing.B) { benchSealOpen(b, 1024) }
