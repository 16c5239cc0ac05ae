package trust

import (
	"bytes"
	"errors"
	"testing"
)

func TestSeal(t *testing.T) {
	w := newTestWorld(t)
	spec := testSpec("cache", "m=64")
	enc := w.launch(t, spec)
	upgraded := w.launch(t, testSpec("cache", "m=128")) // same signer, new measurement
	otherSigner := spec
	otherSigner.Signer = SignerFromKey([]byte("other"))
	stranger := w.launch(t, otherSigner) // same measurement inputs, other signer
	otherPlatform := newTestWorld(t).launch(t, spec)
	secret := []byte("the cache's sealed state")
	aad := []byte("slab 3")

	cases := []struct {
		name   string
		policy SealPolicy
		by     Enclave
		aad    []byte
		mutate func([]byte)
		err    error
	}{
		{"measurement: same enclave", SealToMeasurement, enc, aad, nil, nil},
		{"measurement: different measurement", SealToMeasurement, upgraded, aad, nil, ErrUnseal},
		{"measurement: other platform", SealToMeasurement, otherPlatform, aad, nil, ErrUnseal},
		{"measurement: wrong aad", SealToMeasurement, enc, []byte("slab 4"), nil, ErrUnseal},
		{"signer: upgraded agent", SealToSigner, upgraded, aad, nil, nil},
		{"signer: other signer", SealToSigner, stranger, aad, nil, ErrUnseal},
		{"policy byte flipped", SealToMeasurement, upgraded, aad, func(b []byte) { b[5] = byte(SealToSigner) }, ErrUnseal},
		{"ciphertext flipped", SealToMeasurement, enc, aad, func(b []byte) { b[len(b)-1] ^= 1 }, ErrUnseal},
		{"version", SealToMeasurement, enc, aad, func(b []byte) { b[4] = 7 }, ErrSealVersion},
		{"magic", SealToMeasurement, enc, aad, func(b []byte) { b[0] = 'X' }, ErrSealedMalformed},
		{"truncated", SealToMeasurement, enc, aad, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			blob, err := enc.Seal(c.policy, secret, aad)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(blob, secret) {
				t.Fatal("sealed blob contains the plaintext")
			}
			if c.mutate != nil {
				c.mutate(blob)
			}
			if c.name == "truncated" {
				if _, err := c.by.Unseal(blob[:10], c.aad); !errors.Is(err, ErrSealedMalformed) {
					t.Fatalf("truncated: %v", err)
				}
				return
			}
			got, err := c.by.Unseal(blob, c.aad)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("Unseal err = %v, want %v", err, c.err)
			}
			if err == nil && !bytes.Equal(got, secret) {
				t.Fatalf("Unseal = %q", got)
			}
		})
	}
	if _, err := enc.Seal(SealPolicy(9), secret, nil); err == nil {
		t.Fatal("unknown policy accepted")
	}
}

func TestNoneBackendCannotAttestOrSeal(t *testing.T) {
	e, err := NoneBackend{}.Launch(testSpec("gateway", ""))
	if err != nil {
		t.Fatal(err)
	}
	if e.Trusted() {
		t.Fatal("none enclave claims to be trusted")
	}
	if _, err := e.Attest(ReportData{}); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Attest: %v", err)
	}
	if _, err := e.Seal(SealToMeasurement, []byte("x"), nil); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Seal: %v", err)
	}
	if _, err := e.Unseal([]byte("x"), nil); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Unseal: %v", err)
	}
}

func FuzzUnseal(f *testing.F) {
	w := newTestWorld(f)
	enc := w.launch(f, testSpec("cache", ""))
	blob, _ := enc.Seal(SealToMeasurement, []byte("x"), nil)
	f.Add(blob)
	f.Fuzz(func(t *testing.T, b []byte) {
		if pt, err := enc.Unseal(b, nil); err == nil && !bytes.Equal(b, blob) {
			t.Fatalf("forged blob unsealed to %q", pt)
		}
	})
}
