package aegis

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

// SealPrefixed must give exactly Seal's bytes for the joined message, in
// every implementation, for every way the prefix can end inside a block
// and the plaintext can be too short to fill it.
func TestSealPrefixedMatchesSeal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	key, nonce := randBytes(rng, KeySize), randBytes(rng, NonceSize)
	type size struct{ pre, pt int }
	var sizes []size
	for pre := range 70 {
		for _, pt := range []int{0, 1, 7, 23, 24, 25, 31, 32, 33, 55, 56, 57, 64, 100, 257, 300} {
			sizes = append(sizes, size{pre, pt})
		}
	}
	// Segment-sized payloads behind the 8-byte segment header.
	sizes = append(sizes, size{8, 32 << 10}, size{8, 32<<10 - 1}, size{0, 1<<16 + 7}, size{40, 1<<16 + 7})
	for _, im := range impls(t) {
		t.Run(im.String(), func(t *testing.T) {
			a := mustNew(t, key, im)
			for _, sz := range sizes {
				for _, adLen := range []int{0, 13, 33} {
					pre, pt, ad := randBytes(rng, sz.pre), randBytes(rng, sz.pt), randBytes(rng, adLen)
					joined := append(bytes.Clone(pre), pt...)
					want := a.Seal(nil, nonce, joined, ad)
					dst := []byte("hdr:")
					got := a.SealPrefixed(dst, nonce, pre, pt, ad)
					if !bytes.Equal(got[len(dst):], want) || string(got[:len(dst)]) != "hdr:" {
						t.Fatalf("prefix %d, plaintext %d, ad %d: SealPrefixed differs from Seal of the joined message", sz.pre, sz.pt, adLen)
					}
					opened, err := a.Open(nil, nonce, got[len(dst):], ad)
					if err != nil || !bytes.Equal(opened, joined) {
						t.Fatalf("prefix %d, plaintext %d: Open = %v", sz.pre, sz.pt, err)
					}
				}
			}
		})
	}
}

// A record sealed in two parts is refused like any other once a bit of
// it changes, in the prefix's blocks, the joining block or the body.
func TestSealPrefixedTamperingDetected(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	key, nonce := randBytes(rng, KeySize), randBytes(rng, NonceSize)
	for _, im := range impls(t) {
		t.Run(im.String(), func(t *testing.T) {
			a := mustNew(t, key, im)
			pre, pt, ad := randBytes(rng, 8), randBytes(rng, 1000), randBytes(rng, 13)
			sealed := a.SealPrefixed(nil, nonce, pre, pt, ad)
			for i := range len(sealed) * 8 {
				s := bytes.Clone(sealed)
				s[i/8] ^= 1 << (i % 8)
				if got, err := a.Open(nil, nonce, s, ad); !errors.Is(err, ErrOpen) || got != nil {
					t.Fatalf("bit %d flipped: Open = %x, %v; want nil, ErrOpen", i, got, err)
				}
			}
		})
	}
}

func TestSealPrefixedOverlapPanics(t *testing.T) {
	a, _ := New(make([]byte, KeySize))
	nonce := make([]byte, NonceSize)
	buf := make([]byte, 300)
	testenv.MustPanic(t, "dst over the prefix", func() { a.SealPrefixed(buf[:0], nonce, buf[:8], buf[100:200], nil) })
	testenv.MustPanic(t, "dst aliasing plaintext with a prefix", func() { a.SealPrefixed(buf[:0], nonce, make([]byte, 8), buf[:64], nil) })
	testenv.MustPanic(t, "dst partly over plaintext", func() { a.SealPrefixed(buf[1:1], nonce, nil, buf[:64], nil) })
	// In place without a prefix is Seal's in-place form.
	msg := bytes.Clone(buf[:64])
	if got := a.SealPrefixed(buf[:0], nonce, nil, buf[:64], nil); !bytes.Equal(got, a.Seal(nil, nonce, msg, nil)) {
		t.Fatal("in-place SealPrefixed without a prefix differs from Seal")
	}
}

func TestSealPrefixedDoesNotAllocate(t *testing.T) {
	a, _ := New(make([]byte, KeySize))
	nonce, ad, pre := make([]byte, NonceSize), make([]byte, 13), make([]byte, 8)
	msg := make([]byte, 1000)
	buf := make([]byte, 0, len(pre)+len(msg)+TagSize)
	if n := testing.AllocsPerRun(20, func() { a.SealPrefixed(buf, nonce, pre, msg, ad) }); n != 0 {
		t.Errorf("SealPrefixed allocates %.0f times", n)
	}
}
