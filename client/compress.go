package client

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
)

// FlagCompressed is the client-flags bit (bit 30, 0x40000000) that marks a
// value the client stored zlib-compressed (thesis §6.2.2). The bit is
// reserved: storing an item whose own flags set it fails with
// ErrReservedFlag. Reads strip it and return the value decompressed.
const FlagCompressed uint32 = 1 << 30

// compress returns the value to send and its flags: zlib-compressed and
// marked when the value is at least threshold bytes and compression makes it
// smaller, otherwise unchanged.
func compress(value []byte, flags uint32, threshold int) ([]byte, uint32, error) {
	if flags&FlagCompressed != 0 {
		return nil, 0, ErrReservedFlag
	}
	if threshold <= 0 || len(value) < threshold {
		return value, flags, nil
	}
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	if _, err := w.Write(value); err != nil {
		return nil, 0, fmt.Errorf("memcache: compress: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, 0, fmt.Errorf("memcache: compress: %w", err)
	}
	if b.Len() >= len(value) {
		return value, flags, nil
	}
	return b.Bytes(), flags | FlagCompressed, nil
}

// decompress undoes compress, refusing output beyond limit bytes so a
// hostile value (a zip bomb) cannot exhaust memory.
func decompress(value []byte, flags uint32, limit int) ([]byte, uint32, error) {
	if flags&FlagCompressed == 0 {
		return value, flags, nil
	}
	r, err := zlib.NewReader(bytes.NewReader(value))
	if err != nil {
		return nil, 0, fmt.Errorf("memcache: decompress: %w", err)
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, 0, fmt.Errorf("memcache: decompress: %w", err)
	}
	if len(out) > limit {
		return nil, 0, fmt.Errorf("memcache: decompressed value exceeds %d bytes: %w", limit, ErrTooLarge)
	}
	return out, flags &^ FlagCompressed, nil
}
