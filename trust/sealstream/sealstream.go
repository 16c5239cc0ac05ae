// Package sealstream seals a byte stream of any length to an enclave's
// identity, for files that must outlive the enclave (the cache's warm
// restart file) and be readable only by the same code (or signer) on the
// same platform.
//
// trust's Seal takes one blob in memory; a cache's worth of items should
// not be held twice. So the stream is sealed in two layers: a fresh random
// 256-bit stream key is sealed with Enclave.Seal to the chosen policy and
// heads the stream, and the data follows in chunks of at most ChunkSize
// bytes, each encrypted with AES-256-GCM under the stream key. A chunk's
// nonce is its sequence number, and whether it is the last chunk is
// authenticated with it, so a reordered, dropped, duplicated, truncated or
// extended stream fails to open as surely as a modified one.
//
// Layout (integers big endian):
//
//	"DGSTREAM" | version u8 | label length u8 | label | sealed-key length u32 | sealed key
//	chunk*: flags+length u32 (top bit: last chunk) | AES-GCM(chunk)
//
// The label says what the stream is for and is authenticated by the sealed
// key, so a stream sealed for one purpose cannot be passed off as another.
// This package depends on trust only, never on what the stream carries.
package sealstream

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/securecached/securecached/trust"
)

// ChunkSize is the most plaintext one chunk carries.
const ChunkSize = 64 << 10

// Version is the stream format version.
const Version = 1

var magic = [8]byte{'D', 'G', 'S', 'T', 'R', 'E', 'A', 'M'}

const (
	keyLen        = 32
	lastChunk     = 1 << 31
	maxSealedKey  = 4 << 10
	chunkOverhead = 16 // the GCM tag
)

// Sentinel errors; the returned errors wrap them with context.
var (
	// ErrMalformed: not a sealed stream of this version or label.
	ErrMalformed = errors.New("sealstream: not a sealed stream")
	// ErrIdentity: the stream key does not unseal here: another
	// measurement or signer sealed it, on another platform, or its header
	// was modified.
	ErrIdentity = errors.New("sealstream: sealed to another identity or platform, or its header was modified")
	// ErrTampered: a chunk failed authentication (modified, reordered or
	// from another stream).
	ErrTampered = errors.New("sealstream: chunk failed authentication")
	// ErrTruncated: the stream ended before its last chunk.
	ErrTruncated = errors.New("sealstream: truncated before its last chunk")
	// ErrTrailing: bytes follow the last chunk.
	ErrTrailing = errors.New("sealstream: data after the last chunk")
)

// Writer seals what is written to it; Close writes the last chunk. It holds
// at most one chunk of plaintext and one of ciphertext.
type Writer struct {
	w      io.Writer
	aead   cipher.AEAD
	seq    uint64
	buf    []byte
	out    []byte
	err    error
	closed bool
}

// NewWriter writes the stream header to w, with a fresh stream key sealed
// by enc to policy, and returns a Writer for the data.
func NewWriter(w io.Writer, enc trust.Enclave, policy trust.SealPolicy, label string) (*Writer, error) {
	if len(label) > 255 {
		return nil, fmt.Errorf("sealstream: label longer than 255 bytes")
	}
	key := make([]byte, keyLen)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("sealstream: stream key: %w", err)
	}
	hdr := header(label)
	sealed, err := enc.Seal(policy, key, hdr)
	if err != nil {
		return nil, fmt.Errorf("sealstream: seal stream key: %w", err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(len(sealed)))
	if _, err := w.Write(append(hdr, sealed...)); err != nil {
		return nil, fmt.Errorf("sealstream: write header: %w", err)
	}
	return &Writer{w: w, aead: aead, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, 4+ChunkSize+chunkOverhead)}, nil
}

// header is the part of the header the sealed key authenticates.
func header(label string) []byte {
	h := make([]byte, 0, len(magic)+2+len(label)+4)
	h = append(h, magic[:]...)
	h = append(h, Version, byte(len(label)))
	return append(h, label...)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealstream: %w", err)
	}
	return cipher.NewGCM(block)
}

// nonce is a chunk's sequence number: the stream key is never used for
// another stream, so the number alone keeps nonces unique.
func nonce(seq uint64) []byte {
	var n [12]byte
	binary.BigEndian.PutUint64(n[4:], seq)
	return n[:]
}

// additional is what a chunk authenticates besides its sequence number:
// whether it is the last one.
func additional(last bool) []byte {
	if last {
		return []byte{1}
	}
	return []byte{0}
}

// Write seals p, a chunk at a time.
func (s *Writer) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("sealstream: write after Close")
	}
	n := 0
	for len(p) > 0 && s.err == nil {
		k := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		n += k
		if len(s.buf) == cap(s.buf) {
			s.flush(false)
		}
	}
	return n, s.err
}

func (s *Writer) flush(last bool) {
	word := uint32(len(s.buf) + chunkOverhead)
	if last {
		word |= lastChunk
	}
	s.out = binary.BigEndian.AppendUint32(s.out[:0], word)
	s.out = s.aead.Seal(s.out, nonce(s.seq), s.buf, additional(last))
	s.seq++
	s.buf = s.buf[:0]
	if _, err := s.w.Write(s.out); err != nil {
		s.err = fmt.Errorf("sealstream: write chunk %d: %w", s.seq-1, err)
	}
}

// Close writes the last chunk (possibly empty). It does not close the
// underlying writer.
func (s *Writer) Close() error {
	if s.closed {
		return s.err
	}
	if s.err == nil {
		s.flush(true)
	}
	s.closed = true
	clear(s.buf[:cap(s.buf)])
	return s.err
}

// Reader opens a sealed stream; Read returns only authenticated data, and
// io.EOF only after the last chunk authenticated and nothing follows it.
type Reader struct {
	r    io.Reader
	aead cipher.AEAD
	seq  uint64
	in   []byte
	buf  []byte // opened plaintext not yet read
	done bool
	err  error
}

// NewReader reads the stream header from r and unseals the stream key with
// enc. The label must be the one the stream was written with.
func NewReader(r io.Reader, enc trust.Enclave, label string) (*Reader, error) {
	want := header(label)
	got := make([]byte, len(want)+4)
	if _, err := io.ReadFull(r, got); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	switch {
	case string(got[:len(magic)]) != string(magic[:]):
		return nil, fmt.Errorf("%w: bad magic", ErrMalformed)
	case got[len(magic)] != Version:
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrMalformed, got[len(magic)], Version)
	case string(got[:len(want)]) != string(want):
		return nil, fmt.Errorf("%w: written for another purpose", ErrMalformed)
	}
	n := binary.BigEndian.Uint32(got[len(want):])
	if n == 0 || n > maxSealedKey {
		return nil, fmt.Errorf("%w: sealed key of %d bytes", ErrMalformed, n)
	}
	sealed := make([]byte, n)
	if _, err := io.ReadFull(r, sealed); err != nil {
		return nil, fmt.Errorf("%w: sealed key: %v", ErrTruncated, err)
	}
	key, err := enc.Unseal(sealed, want)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIdentity, err)
	}
	defer clear(key)
	if len(key) != keyLen {
		return nil, fmt.Errorf("%w: stream key of %d bytes", ErrMalformed, len(key))
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Reader{r: r, aead: aead, in: make([]byte, ChunkSize+chunkOverhead)}, nil
}

// Read returns authenticated plaintext.
func (s *Reader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.err = s.next()
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// next opens the next chunk into s.buf, or returns why it cannot.
func (s *Reader) next() error {
	var word [4]byte
	if s.done {
		if n, _ := io.ReadFull(s.r, word[:1]); n > 0 {
			return ErrTrailing
		}
		return io.EOF
	}
	if _, err := io.ReadFull(s.r, word[:]); err != nil {
		return fmt.Errorf("%w: after %d chunks", ErrTruncated, s.seq)
	}
	w := binary.BigEndian.Uint32(word[:])
	last := w&lastChunk != 0
	n := int(w &^ lastChunk)
	if n < chunkOverhead || n > len(s.in) {
		return fmt.Errorf("%w: chunk %d claims %d bytes", ErrTampered, s.seq, n)
	}
	if _, err := io.ReadFull(s.r, s.in[:n]); err != nil {
		return fmt.Errorf("%w: inside chunk %d", ErrTruncated, s.seq)
	}
	pt, err := s.aead.Open(s.in[:0], nonce(s.seq), s.in[:n], additional(last))
	if err != nil {
		return fmt.Errorf("%w: chunk %d", ErrTampered, s.seq)
	}
	s.seq++
	s.buf = pt
	s.done = last
	return nil
}
