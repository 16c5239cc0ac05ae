package aegis

import (
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"unsafe"
)

const (
	// KeySize is the AEGIS-128L key length in bytes.
	KeySize = 16
	// NonceSize is the AEGIS-128L nonce length in bytes.
	NonceSize = 16
	// TagSize is the length of the authentication tag Seal appends.
	TagSize = 16

	// maxInputLen is the draft's P_MAX and A_MAX less one: Finalize encodes
	// lengths in bits as 64-bit integers.
	maxInputLen = 1<<61 - 1

	// blockSize is the AEGIS-128L rate: two AES blocks per update.
	blockSize = 32
)

// ErrOpen is returned by Open when the tag does not verify.
var ErrOpen = errors.New("aegis: message authentication failed")

// impl names an implementation. It is a field of aegis128L rather than a
// function value so that buffers stay on the stack (an indirect call would
// make them escape) and so tests can run every implementation the CPU has.
type impl uint8

const (
	implGeneric impl = iota // pure Go, table-based AES round
	implAESNI               // amd64 assembly: AES-NI and SSE2
	implAVX512              // implAESNI with AVX-512VL in the bulk loops
)

func (i impl) String() string {
	return [...]string{"generic", "aesni", "avx512"}[i]
}

type aegis128L struct {
	key  [KeySize]byte
	impl impl
}

// AEAD is the cipher New returns: a crypto/cipher.AEAD that can also seal
// a message it is given in two parts.
type AEAD interface {
	cipher.AEAD
	// SealPrefixed is Seal of the concatenation prefix||plaintext, read
	// from the two slices where they are, so a caller that frames a
	// payload behind a short header need not copy the payload next to it
	// first. The result is byte for byte what Seal of the joined message
	// gives, and Open opens it. dst's spare capacity must not overlap
	// prefix, and may alias plaintext (in place) only when prefix is
	// empty; it panics otherwise, like Seal.
	SealPrefixed(dst, nonce, prefix, plaintext, additionalData []byte) []byte
}

// New returns AEGIS-128L keyed with key, which must be 16 bytes. It uses
// the fastest assembly the CPU supports, and the pure Go fallback (not
// constant-time) when there is none.
func New(key []byte) (AEAD, error) {
	return newAEGIS(key, bestImpl)
}

// ConstantTime reports whether New uses the assembly, whose AES rounds
// take constant time; false means the table-based Go fallback.
func ConstantTime() bool { return bestImpl != implGeneric }

func newAEGIS(key []byte, i impl) (*aegis128L, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("aegis: key is %d bytes, want %d", len(key), KeySize)
	}
	a := &aegis128L{impl: i}
	copy(a.key[:], key)
	return a, nil
}

func (*aegis128L) NonceSize() int { return NonceSize }
func (*aegis128L) Overhead() int  { return TagSize }

// Seal encrypts and authenticates plaintext, authenticates additionalData
// and appends ciphertext||tag to dst. To encrypt in place, pass
// plaintext[:0] as dst. It panics if nonce is not NonceSize bytes, if dst's
// spare capacity partly overlaps plaintext, or if an input is 2^61 bytes or
// longer.
func (a *aegis128L) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	return a.SealPrefixed(dst, nonce, nil, plaintext, additionalData)
}

// SealPrefixed implements AEAD.
func (a *aegis128L) SealPrefixed(dst, nonce, prefix, plaintext, additionalData []byte) []byte {
	if len(nonce) != NonceSize {
		panic("aegis: incorrect nonce length given to AEGIS-128L")
	}
	n := len(prefix) + len(plaintext)
	if uint64(len(prefix)) > maxInputLen || uint64(len(plaintext)) > maxInputLen ||
		uint64(n) > maxInputLen || uint64(len(additionalData)) > maxInputLen {
		panic("aegis: message too large for AEGIS-128L")
	}
	ret, out := sliceForAppend(dst, n+TagSize)
	if anyOverlap(out, prefix) || len(prefix) > 0 && anyOverlap(out, plaintext) || inexactOverlap(out, plaintext) {
		panic("aegis: invalid buffer overlap")
	}

	tag := (*[TagSize]byte)(out[n:])
	if a.impl == implGeneric {
		sealGeneric(&a.key, (*[NonceSize]byte)(nonce), out, prefix, plaintext, additionalData, tag)
	} else {
		sealWithAsm(a.impl, &a.key, (*[NonceSize]byte)(nonce), out, prefix, plaintext, additionalData, tag)
	}
	return ret
}

// msgSplit is how a seal walks prefix||plaintext in 32-byte blocks without
// joining the two: the whole blocks of prefix (read in place), one block
// that joins the rest of prefix to the start of plaintext (mid), the whole
// blocks of plaintext after it (in place), and a last partial block. With
// an empty prefix it is the plain walk: whole blocks, then the tail.
type msgSplit struct {
	pre  int // bytes of prefix in whole blocks
	mid  int // bytes of plaintext in the mid block; 0 if there is none
	body int // bytes of plaintext in whole blocks after the mid block
}

func splitMsg(prefix, plaintext []byte) msgSplit {
	s := msgSplit{pre: len(prefix) &^ (blockSize - 1)}
	if r := len(prefix) - s.pre; r > 0 && len(plaintext) >= blockSize-r {
		s.mid = blockSize - r
	}
	s.body = (len(plaintext) - s.mid) &^ (blockSize - 1)
	return s
}

// midLen is the length of the mid block in the output.
func (s msgSplit) midLen() int {
	if s.mid > 0 {
		return blockSize
	}
	return 0
}

// tail returns the two pieces of the last partial block: what is left of
// prefix (only if there is no mid block to take it) and of plaintext.
func (s msgSplit) tail(prefix, plaintext []byte) (pre, pt []byte) {
	if s.mid == 0 {
		pre = prefix[s.pre:]
	}
	return pre, plaintext[s.mid+s.body:]
}

// join copies a then b (together at most a block) into blk and returns
// their length.
func join(blk *[blockSize]byte, a, b []byte) int {
	n := copy(blk[:], a)
	return n + copy(blk[n:], b)
}

// Open authenticates and decrypts ciphertext (ciphertext||tag as produced
// by Seal) and appends the plaintext to dst. To decrypt in place, pass
// ciphertext[:0] as dst. On a tag mismatch it zeroes whatever it wrote and
// returns ErrOpen, so unauthenticated plaintext never reaches the caller.
// It panics if nonce is not NonceSize bytes or if dst's spare capacity
// partly overlaps ciphertext.
func (a *aegis128L) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		panic("aegis: incorrect nonce length given to AEGIS-128L")
	}
	if len(ciphertext) < TagSize ||
		uint64(len(ciphertext)-TagSize) > maxInputLen || uint64(len(additionalData)) > maxInputLen {
		return nil, ErrOpen
	}
	tag := ciphertext[len(ciphertext)-TagSize:]
	ciphertext = ciphertext[:len(ciphertext)-TagSize]

	ret, out := sliceForAppend(dst, len(ciphertext))
	if inexactOverlap(out, ciphertext) {
		panic("aegis: invalid buffer overlap")
	}

	var want [TagSize]byte
	if a.impl == implGeneric {
		openGeneric(&a.key, (*[NonceSize]byte)(nonce), out, ciphertext, additionalData, &want)
	} else {
		openWithAsm(a.impl, &a.key, (*[NonceSize]byte)(nonce), out, ciphertext, additionalData, &want)
	}
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes, reallocating if needed, and returns
// the whole slice and the n-byte tail, as crypto/cipher's AEADs do.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return head, tail
}

// inexactOverlap reports whether x and y share memory at any offset other
// than their first byte. Exact aliasing (in-place operation) is fine because
// every primitive reads a block before it writes it.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	return anyOverlap(x, y)
}

func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}
