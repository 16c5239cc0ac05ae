package aegis

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// AEGIS-128L and stdlib AES-128-GCM side by side, so one run gives the
// ratio on the same machine under the same load. Each Seal uses a fresh
// buffer's worth of output space but the same nonce: fine for timing,
// never for real traffic.

func newGCM(b *testing.B) cipher.AEAD {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func newAEGISBench(b *testing.B, i impl) cipher.AEAD {
	if i > bestImpl {
		b.Skipf("%v unavailable on this build and CPU", i)
	}
	a, err := newAEGIS(make([]byte, KeySize), i)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// benchAD is the size of the record header our channel authenticates.
const benchAD = 13

func benchSeal(b *testing.B, a cipher.AEAD, size int) {
	nonce := make([]byte, a.NonceSize())
	ad := make([]byte, benchAD)
	msg := make([]byte, size)
	out := make([]byte, 0, size+a.Overhead())
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		out = a.Seal(out[:0], nonce, msg, ad)
	}
}

func benchOpen(b *testing.B, a cipher.AEAD, size int) {
	nonce := make([]byte, a.NonceSize())
	ad := make([]byte, benchAD)
	sealed := a.Seal(nil, nonce, make([]byte, size), ad)
	out := make([]byte, 0, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, err = a.Open(out[:0], nonce, sealed, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal64B(b *testing.B) { benchSeal(b, newAEGISBench(b, bestImpl), 64) }
func BenchmarkSeal1KB(b *testing.B) { benchSeal(b, newAEGISBench(b, bestImpl), 1024) }
func BenchmarkOpen64B(b *testing.B) { benchOpen(b, newAEGISBench(b, bestImpl), 64) }
func BenchmarkOpen1KB(b *testing.B) { benchOpen(b, newAEGISBench(b, bestImpl), 1024) }

func BenchmarkGCMSeal64B(b *testing.B) { benchSeal(b, newGCM(b), 64) }
func BenchmarkGCMSeal1KB(b *testing.B) { benchSeal(b, newGCM(b), 1024) }
func BenchmarkGCMOpen64B(b *testing.B) { benchOpen(b, newGCM(b), 64) }
func BenchmarkGCMOpen1KB(b *testing.B) { benchOpen(b, newGCM(b), 1024) }

// The other implementations, to show what CPUs without AVX-512 and builds
// without assembly (or with purego) pay.
func BenchmarkAESNISeal1KB(b *testing.B)   { benchSeal(b, newAEGISBench(b, implAESNI), 1024) }
func BenchmarkGenericSeal1KB(b *testing.B) { benchSeal(b, newAEGISBench(b, implGeneric), 1024) }

// A socket segment's seal (8-byte header, 32 KB of data that lies
// elsewhere, as diggi/posix sends a value's chunk): joined first and
// sealed in place, as before SealPrefixed, against SealPrefixed.
const segHeader, segData = 8, 32 << 10

func BenchmarkSegmentJoinThenSeal32KB(b *testing.B) {
	a := newAEGISBench(b, bestImpl)
	nonce, ad := make([]byte, NonceSize), make([]byte, benchAD)
	hdr, data := make([]byte, segHeader), make([]byte, segData)
	scratch := make([]byte, 0, segHeader+segData)
	out := make([]byte, 0, segHeader+segData+TagSize)
	b.SetBytes(segData)
	b.ReportAllocs()
	for b.Loop() {
		scratch = append(append(scratch[:0], hdr...), data...)
		out = a.Seal(out[:0], nonce, scratch, ad)
	}
}

func BenchmarkSegmentSealPrefixed32KB(b *testing.B) {
	a := newAEGISBench(b, bestImpl)
	nonce, ad := make([]byte, NonceSize), make([]byte, benchAD)
	hdr, data := make([]byte, segHeader), make([]byte, segData)
	out := make([]byte, 0, segHeader+segData+TagSize)
	b.SetBytes(segData)
	b.ReportAllocs()
	for b.Loop() {
		out = a.(AEAD).SealPrefixed(out[:0], nonce, hdr, data, ad)
	}
}
