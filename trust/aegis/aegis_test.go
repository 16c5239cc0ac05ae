package aegis

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

// Test vectors from draft-irtf-cfrg-aegis-aead, appendix "Test Vectors"
// (sections "AESRound Test Vector" and "AEGIS-128L Test Vectors"), as
// published in https://github.com/cfrg/draft-irtf-cfrg-aegis-aead,
// file draft-irtf-cfrg-aegis-aead.md at commit
// 009d4c61548b3bbd976839dbbd3c2330b70aadaa. Test Vector 1 also appears in
// OpenSSL's and noble-ciphers' AEGIS-128L tests. Only the 128-bit tags
// apply here.

type draftVector struct {
	name                string
	key, nonce, ad, msg string
	ct, tag             string
	mustFail            bool
}

var draftVectors = []draftVector{
	{
		name:  "Test Vector 1",
		key:   "10010000000000000000000000000000",
		nonce: "10000200000000000000000000000000",
		ad:    "",
		msg:   "00000000000000000000000000000000",
		ct:    "c1c0e58bd913006feba00f4b3cc3594e",
		tag:   "abe0ece80c24868a226a35d16bdae37a",
	},
	{
		name:  "Test Vector 2",
		key:   "10010000000000000000000000000000",
		nonce: "10000200000000000000000000000000",
		ad:    "",
		msg:   "",
		ct:    "",
		tag:   "c2b879a67def9d74e6c14f708bbcc9b4",
	},
	{
		name:  "Test Vector 3",
		key:   "10010000000000000000000000000000",
		nonce: "10000200000000000000000000000000",
		ad:    "0001020304050607",
		msg:   "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		ct:    "79d94593d8c2119d7e8fd9b8fc77845c5c077a05b2528b6ac54b563aed8efe84",
		tag:   "cc6f3372f6aa1bb82388d695c3962d9a",
	},
	{
		name:  "Test Vector 4",
		key:   "10010000000000000000000000000000",
		nonce: "10000200000000000000000000000000",
		ad:    "0001020304050607",
		msg:   "000102030405060708090a0b0c0d",
		ct:    "79d94593d8c2119d7e8fd9b8fc77",
		tag:   "5c04b3dba849b2701effbe32c7f0fab7",
	},
	{
		name:  "Test Vector 5",
		key:   "10010000000000000000000000000000",
		nonce: "10000200000000000000000000000000",
		ad: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" +
			"20212223242526272829",
		msg: "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" +
			"3031323334353637",
		ct: "b31052ad1cca4e291abcf2df3502e6bdb1bfd6db36798be3607b1f94d34478aa" +
			"7ede7f7a990fec10",
		tag: "7542a745733014f9474417b337399507",
	},
	{
		name:     "Test Vector 6 (key and nonce swapped)",
		key:      "10000200000000000000000000000000",
		nonce:    "10010000000000000000000000000000",
		ad:       "0001020304050607",
		ct:       "79d94593d8c2119d7e8fd9b8fc77",
		tag:      "5c04b3dba849b2701effbe32c7f0fab7",
		mustFail: true,
	},
	{
		name:     "Test Vector 7 (ciphertext altered)",
		key:      "10010000000000000000000000000000",
		nonce:    "10000200000000000000000000000000",
		ad:       "0001020304050607",
		ct:       "79d94593d8c2119d7e8fd9b8fc78",
		tag:      "5c04b3dba849b2701effbe32c7f0fab7",
		mustFail: true,
	},
	{
		name:     "Test Vector 8 (associated data altered)",
		key:      "10010000000000000000000000000000",
		nonce:    "10000200000000000000000000000000",
		ad:       "0001020304050608",
		ct:       "79d94593d8c2119d7e8fd9b8fc77",
		tag:      "5c04b3dba849b2701effbe32c7f0fab7",
		mustFail: true,
	},
	{
		name:     "Test Vector 9 (tag altered)",
		key:      "10010000000000000000000000000000",
		nonce:    "10000200000000000000000000000000",
		ad:       "0001020304050607",
		ct:       "79d94593d8c2119d7e8fd9b8fc77",
		tag:      "6c04b3dba849b2701effbe32c7f0fab8",
		mustFail: true,
	},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func block(t testing.TB, s string) *[16]byte {
	t.Helper()
	return (*[16]byte)(unhex(t, s))
}

// impls lists the implementations this build and CPU can run: the
// assembly is absent under purego, on other architectures and on CPUs
// without AES-NI, and implAVX512 needs AVX-512VL.
func impls(t testing.TB) []impl {
	var r []impl
	for i := implGeneric; i <= bestImpl; i++ {
		r = append(r, i)
	}
	if bestImpl != implAVX512 {
		t.Logf("testing only %v on this build and CPU", r)
	}
	return r
}

func mustNew(t testing.TB, key []byte, i impl) *aegis128L {
	t.Helper()
	a, err := newAEGIS(key, i)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAESRoundVector(t *testing.T) {
	got := aesRound(block(t, "000102030405060708090a0b0c0d0e0f"), block(t, "101112131415161718191a1b1c1d1e1f"))
	if want := unhex(t, "7a7b4e5638782546a8c0477a3b813f43"); !bytes.Equal(got[:], want) {
		t.Fatalf("AESRound = %x, want %x", got, want)
	}
}

func TestUpdateVector(t *testing.T) {
	before := []string{
		"9b7e60b24cc873ea894ecc07911049a3",
		"330be08f35300faa2ebf9a7b0d274658",
		"7bbd5bd2b049f7b9b515cf26fbe7756c",
		"c35a00f55ea86c3886ec5e928f87db18",
		"9ebccafce87cab446396c4334592c91f",
		"58d83e31f256371e60fc6bb257114601",
		"1639b56ea322c88568a176585bc915de",
		"640818ffb57dc0fbc2e72ae93457e39a",
	}
	m := "033e6975b94816879e42917650955aa0"
	after := []string{
		"596ab773e4433ca0127c73f60536769d",
		"790394041a3d26ab697bde865014652d",
		"38cf49e4b65248acd533041b64dd0611",
		"16d8e58748f437bfff1797f780337cee",
		"69761320f7dd738b281cc9f335ac2f5a",
		"a21746bb193a569e331e1aa985d0d729",
		"09d714e6fcf9177a8ed1cde7e3d259a6",
		"61279ba73167f0ab76f0a11bf203bdff",
	}
	// Only the generic code has a standalone Update; the assembly's is
	// covered by the full vectors below and by TestAsmMatchesGeneric.
	var st state
	for i, s := range before {
		st[i] = *block(t, s)
	}
	updateGeneric(&st, block(t, m), block(t, m))
	for i, s := range after {
		if want := unhex(t, s); !bytes.Equal(st[i][:], want) {
			t.Errorf("S%d = %x, want %x", i, st[i], want)
		}
	}
}

func TestDraftVectors(t *testing.T) {
	for _, im := range impls(t) {
		for _, v := range draftVectors {
			t.Run(im.String()+"/"+v.name, func(t *testing.T) {
				a := mustNew(t, unhex(t, v.key), im)
				nonce, ad := unhex(t, v.nonce), unhex(t, v.ad)
				sealed := append(unhex(t, v.ct), unhex(t, v.tag)...)
				if !v.mustFail {
					msg := unhex(t, v.msg)
					if got := a.Seal(nil, nonce, msg, ad); !bytes.Equal(got, sealed) {
						t.Fatalf("Seal = %x, want %x", got, sealed)
					}
					got, err := a.Open(nil, nonce, sealed, ad)
					if err != nil || !bytes.Equal(got, msg) {
						t.Fatalf("Open = %x, %v; want %x", got, err, msg)
					}
					return
				}
				// Pre-fill dst's spare capacity so we can see that a failed
				// Open wiped what it decrypted.
				backing := bytes.Repeat([]byte{0xa5}, len(sealed))
				got, err := a.Open(backing[:0], nonce, sealed, ad)
				if !errors.Is(err, ErrOpen) || got != nil {
					t.Fatalf("Open = %x, %v; want nil, ErrOpen", got, err)
				}
				if n := len(sealed) - TagSize; !bytes.Equal(backing[:n], make([]byte, n)) {
					t.Fatalf("failed Open left %x in dst, want zeros", backing[:n])
				}
			})
		}
	}
}

// adLens straddles the 32-byte block boundary and both 16-byte halves.
var adLens = []int{0, 1, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	key, nonce := randBytes(rng, KeySize), randBytes(rng, NonceSize)
	type lens struct{ msg, ad []int }
	cases := []lens{{msg: make([]int, 0, 301), ad: adLens}}
	for n := range 301 {
		cases[0].msg = append(cases[0].msg, n)
	}
	// Large messages with fewer AD lengths: the generic code is slow under -race.
	cases = append(cases, lens{msg: []int{1 << 12, 1<<16 + 7, 1<<20 + 31}, ad: []int{0, 17}})
	for _, im := range impls(t) {
		t.Run(im.String(), func(t *testing.T) {
			a := mustNew(t, key, im)
			for _, c := range cases {
				for _, n := range c.msg {
					for _, adLen := range c.ad {
						msg, ad := randBytes(rng, n), randBytes(rng, adLen)
						sealed := a.Seal(nil, nonce, msg, ad)
						if len(sealed) != n+TagSize {
							t.Fatalf("msg %d ad %d: sealed %d bytes, want %d", n, adLen, len(sealed), n+TagSize)
						}
						if n >= 16 && bytes.Equal(sealed[:n], msg) {
							t.Fatalf("msg %d ad %d: ciphertext equals plaintext", n, adLen)
						}
						got, err := a.Open(nil, nonce, sealed, ad)
						if err != nil || !bytes.Equal(got, msg) {
							t.Fatalf("msg %d ad %d: round trip failed: %v", n, adLen, err)
						}
					}
				}
			}
		})
	}
}

func TestInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	key, nonce, ad := randBytes(rng, KeySize), randBytes(rng, NonceSize), randBytes(rng, 21)
	for _, im := range impls(t) {
		t.Run(im.String(), func(t *testing.T) {
			a := mustNew(t, key, im)
			for _, n := range []int{0, 1, 31, 32, 33, 64, 95, 1000, 1024} {
				msg := randBytes(rng, n)
				want := a.Seal(nil, nonce, msg, ad)

				buf := make([]byte, n, n+TagSize)
				copy(buf, msg)
				sealed := a.Seal(buf[:0], nonce, buf, ad)
				if !bytes.Equal(sealed, want) || &sealed[0] != &buf[:1][0] {
					t.Fatalf("n=%d: in-place Seal = %x, want %x in the same buffer", n, sealed, want)
				}
				opened, err := a.Open(sealed[:0], nonce, sealed, ad)
				if err != nil || !bytes.Equal(opened, msg) {
					t.Fatalf("n=%d: in-place Open = %x, %v; want %x", n, opened, err, msg)
				}
			}
		})
	}
}

func TestAppendsToDst(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.String(), func(t *testing.T) {
			a := mustNew(t, make([]byte, KeySize), im)
			nonce, msg := make([]byte, NonceSize), []byte("hello, agent")
			prefix := []byte("hdr:")
			sealed := a.Seal(append([]byte(nil), prefix...), nonce, msg, nil)
			if !bytes.HasPrefix(sealed, prefix) || !bytes.Equal(sealed[len(prefix):], a.Seal(nil, nonce, msg, nil)) {
				t.Fatalf("Seal did not append to dst: %x", sealed)
			}
			opened, err := a.Open(append([]byte(nil), prefix...), nonce, sealed[len(prefix):], nil)
			if err != nil || string(opened) != "hdr:hello, agent" {
				t.Fatalf("Open = %q, %v", opened, err)
			}
		})
	}
}

func TestTamperingDetected(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	key, nonce := randBytes(rng, KeySize), randBytes(rng, NonceSize)
	for _, im := range impls(t) {
		t.Run(im.String(), func(t *testing.T) {
			a := mustNew(t, key, im)
			// 77 bytes: two full blocks and a partial one.
			msg, ad := randBytes(rng, 77), randBytes(rng, 13)
			sealed := a.Seal(nil, nonce, msg, ad)
			mustReject := func(what string, n, s, d []byte) {
				t.Helper()
				if got, err := a.Open(nil, n, s, d); !errors.Is(err, ErrOpen) || got != nil {
					t.Fatalf("%s: Open = %x, %v; want nil, ErrOpen", what, got, err)
				}
			}
			for i := range len(sealed) * 8 {
				s := bytes.Clone(sealed)
				s[i/8] ^= 1 << (i % 8)
				mustReject("ciphertext/tag bit flipped", nonce, s, ad)
			}
			for i := range ad {
				d := bytes.Clone(ad)
				d[i] ^= 0x80
				mustReject("ad byte altered", nonce, sealed, d)
			}
			for i := range nonce {
				n := bytes.Clone(nonce)
				n[i] ^= 1
				mustReject("nonce altered", n, sealed, ad)
			}
			mustReject("ad dropped", nonce, sealed, nil)
			mustReject("ad extended", nonce, sealed, append(bytes.Clone(ad), 0))
			mustReject("ciphertext truncated", nonce, append(bytes.Clone(sealed[:40]), sealed[len(sealed)-TagSize:]...), ad)
			mustReject("shorter than a tag", nonce, sealed[:TagSize-1], ad)
			mustReject("empty", nonce, nil, ad)
			other := mustNew(t, append(bytes.Clone(key[1:]), key[0]^1), im)
			if _, err := other.Open(nil, nonce, sealed, ad); !errors.Is(err, ErrOpen) {
				t.Fatalf("wrong key: Open err = %v, want ErrOpen", err)
			}
		})
	}
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 15, 17, 24, 32} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New with %d-byte key succeeded", n)
		}
	}
	a, err := New(make([]byte, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if a.NonceSize() != 16 || a.Overhead() != 16 {
		t.Fatalf("NonceSize, Overhead = %d, %d; want 16, 16", a.NonceSize(), a.Overhead())
	}
}

func TestNewCopiesKey(t *testing.T) {
	key := make([]byte, KeySize)
	a, _ := New(key)
	nonce := make([]byte, NonceSize)
	before := a.Seal(nil, nonce, nil, nil)
	key[0] = 1
	if after := a.Seal(nil, nonce, nil, nil); !bytes.Equal(before, after) {
		t.Fatal("changing the caller's key slice changed the cipher")
	}
}

func TestMisusePanics(t *testing.T) {
	a, _ := New(make([]byte, KeySize))
	for _, n := range []int{0, 12, 15, 17, 32} {
		nonce := make([]byte, n)
		testenv.MustPanic(t, "Seal with short nonce", func() { a.Seal(nil, nonce, []byte("x"), nil) })
		testenv.MustPanic(t, "Open with short nonce", func() { a.Open(nil, nonce, make([]byte, 40), nil) })
	}
	nonce := make([]byte, NonceSize)
	buf := make([]byte, 200)
	testenv.MustPanic(t, "Seal into partly overlapping dst", func() { a.Seal(buf[1:1], nonce, buf[:64], nil) })
	sealed := a.Seal(nil, nonce, make([]byte, 64), nil)
	copy(buf, sealed)
	testenv.MustPanic(t, "Open into partly overlapping dst", func() { a.Open(buf[1:1], nonce, buf[:len(sealed)], nil) })
}

// The state must stay on the stack: a heap allocation per record would
// show up in every agent's GC profile.
func TestSealOpenDoNotAllocate(t *testing.T) {
	a, _ := New(make([]byte, KeySize))
	nonce, ad := make([]byte, NonceSize), make([]byte, 13)
	msg := make([]byte, 1000)
	buf := make([]byte, 0, len(msg)+TagSize)
	out := make([]byte, 0, len(msg))
	sealed := a.Seal(nil, nonce, msg, ad)
	if n := testing.AllocsPerRun(20, func() { a.Seal(buf, nonce, msg, ad) }); n != 0 {
		t.Errorf("Seal allocates %.0f times", n)
	}
	if n := testing.AllocsPerRun(20, func() { a.Open(out, nonce, sealed, ad) }); n != 0 {
		t.Errorf("Open allocates %.0f times", n)
	}
}

func TestAsmMatchesGeneric(t *testing.T) {
	if bestImpl == implGeneric {
		t.Skip("assembly unavailable in this build")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		checkAsmMatchesGeneric(t, randBytes(rng, KeySize), randBytes(rng, NonceSize),
			randBytes(rng, rng.IntN(100)), randBytes(rng, rng.IntN(1100)))
	}
}

func FuzzAsmMatchesGeneric(f *testing.F) {
	f.Add([]byte{}, []byte{}, []byte{}, []byte{})
	f.Add(bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16), []byte("ad"), []byte("message"))
	f.Add(make([]byte, 16), make([]byte, 16), make([]byte, 32), make([]byte, 64))
	f.Add([]byte("0123456789abcdef"), []byte("fedcba9876543210"), make([]byte, 33), bytes.Repeat([]byte{0xff}, 95))
	f.Add(make([]byte, 16), make([]byte, 16), make([]byte, 300), make([]byte, 8*32+31))
	f.Fuzz(func(t *testing.T, key, nonce, ad, msg []byte) {
		if bestImpl == implGeneric {
			t.Skip("assembly unavailable in this build")
		}
		// Any bytes make a key and nonce: pad or cut to 16.
		key = append(bytes.Clone(key), make([]byte, KeySize)...)[:KeySize]
		nonce = append(bytes.Clone(nonce), make([]byte, NonceSize)...)[:NonceSize]
		checkAsmMatchesGeneric(t, key, nonce, ad, msg)
	})
}

// checkAsmMatchesGeneric compares every assembly implementation the CPU
// has with the generic code on one input.
func checkAsmMatchesGeneric(t *testing.T, key, nonce, ad, msg []byte) {
	t.Helper()
	gen := mustNew(t, key, implGeneric)
	want := gen.Seal(nil, nonce, msg, ad)
	if got, err := gen.Open(nil, nonce, want, ad); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("generic Open = %x, %v; want %x", got, err, msg)
	}
	bad := bytes.Clone(want)
	bad[len(bad)/2] ^= 0x40
	for i := implAESNI; i <= bestImpl; i++ {
		a := mustNew(t, key, i)
		if got := a.Seal(nil, nonce, msg, ad); !bytes.Equal(got, want) {
			t.Fatalf("%v Seal(key %x, nonce %x, ad %x, msg %x)\n= %x\ngeneric %x", i, key, nonce, ad, msg, got, want)
		}
		if got, err := a.Open(nil, nonce, want, ad); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%v Open = %x, %v; want %x", i, got, err, msg)
		}
		if _, err := a.Open(nil, nonce, bad, ad); err == nil {
			t.Fatalf("%v accepted a corrupted message", i)
		}
		// The same message in two parts, split where its length says.
		cut := 0
		if len(msg) > 0 {
			cut = int(msg[0]) % (len(msg) + 1)
		}
		if got := a.SealPrefixed(nil, nonce, msg[:cut], msg[cut:], ad); !bytes.Equal(got, want) {
			t.Fatalf("%v SealPrefixed(prefix %d, plaintext %d) differs from generic Seal", i, cut, len(msg)-cut)
		}
	}
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
