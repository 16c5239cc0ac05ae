package channel

import (
	"bytes"
	"errors"
	"testing"
)

// A record sealed from a header and a payload in two places opens to the
// joined bytes, takes its place in the sequence like any record, and is
// refused once any bit of a large one changes.
func TestSealPrefixedRecords(t *testing.T) {
	w := newWorld(t)
	a, b := trustedPair(t, w, Config{})
	aad := []byte("src=1 dst=2 type=netio")
	hdr := []byte{4, 0, 0, 0, 0, 0, 0, 0}
	body := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KB, a segment's worth
	for i := range 3 {
		var rec []byte
		var err error
		if i == 1 {
			rec, err = a.Seal(nil, append(bytes.Clone(hdr), body...), aad)
		} else {
			rec, err = a.SealPrefixed(make([]byte, 0, len(hdr)+len(body)+Overhead), hdr, body, aad)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(rec) != len(hdr)+len(body)+Overhead {
			t.Fatalf("record %d: %d bytes", i, len(rec))
		}
		if i == 2 {
			for _, at := range []int{0, 7, 8, 31, 32, 5000, len(rec) - Overhead - 1, len(rec) - TrailerLen - 1} {
				if _, err := b.Open(nil, flipped(rec, at), aad); !errors.Is(err, ErrTampered) {
					t.Fatalf("record with byte %d flipped: %v", at, err)
				}
			}
		}
		got, err := b.Open(nil, rec, aad)
		if err != nil || !bytes.Equal(got[:len(hdr)], hdr) || !bytes.Equal(got[len(hdr):], body) {
			t.Fatalf("record %d: open: %v", i, err)
		}
	}
	if _, err := a.SealPrefixed(nil, hdr, make([]byte, MaxPlaintext), nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	buf := make([]byte, 64, 128)
	if _, err := a.SealPrefixed(buf[:0], hdr, buf[:40], nil); !errors.Is(err, ErrOverlap) {
		t.Fatalf("output over the payload behind a prefix: %v", err)
	}
	if _, err := a.SealPrefixed(buf[:0], buf[:8], []byte("x"), nil); !errors.Is(err, ErrOverlap) {
		t.Fatalf("output over the prefix: %v", err)
	}
}

func TestSealPrefixedDoesNotAllocate(t *testing.T) {
	w := newWorld(t)
	a, _ := trustedPair(t, w, Config{})
	hdr, body := make([]byte, 8), make([]byte, 1024)
	buf := make([]byte, 0, len(hdr)+len(body)+Overhead)
	if n := testing.AllocsPerRun(200, func() {
		if _, err := a.SealPrefixed(buf, hdr, body, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per SealPrefixed", n)
	}
}
