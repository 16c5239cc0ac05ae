package sealstream

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"

	"github.com/securecached/securecached/trust"
)

const label = "test stream v1"

type world struct {
	backend *trust.SimBackend
}

func newWorld(t testing.TB) world {
	t.Helper()
	root, err := trust.NewSimRoot()
	if err != nil {
		t.Fatal(err)
	}
	p, err := trust.NewPlatform(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := trust.NewSimBackend(p)
	if err != nil {
		t.Fatal(err)
	}
	return world{b}
}

// enclave launches an agent whose measurement depends on binary and
// config, signed by signer.
func (w world) enclave(t testing.TB, binary byte, config, signer string) trust.Enclave {
	t.Helper()
	e, err := w.backend.Launch(trust.LaunchSpec{
		Identity: trust.CodeIdentity{BinaryHash: [32]byte{binary}, Kind: "test"},
		Config:   []byte(config),
		Signer:   trust.SignerFromKey([]byte(signer)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func seal(t testing.TB, enc trust.Enclave, policy trust.SealPolicy, data []byte, writes int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, enc, policy, label)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(int64(len(data))))
	for p := data; len(p) > 0; {
		n := min(len(p), 1+rng.Intn(len(data)/writes+1))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func open(enc trust.Enclave, sealed []byte) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(sealed), enc, label)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	w := newWorld(t)
	enc := w.enclave(t, 1, "cfg", "signer")
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 5*ChunkSize + 123} {
		data := make([]byte, size)
		rand.New(rand.NewSource(int64(size))).Read(data)
		sealed := seal(t, enc, trust.SealToMeasurement, data, 7)
		got, err := open(enc, sealed)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: %v, %d bytes back", size, err, len(got))
		}
	}
}

func TestNoPlaintextInStream(t *testing.T) {
	w := newWorld(t)
	enc := w.enclave(t, 1, "cfg", "signer")
	canary := []byte("CANARY-7f3a9c-the-host-must-never-see-this")
	data := bytes.Repeat(canary, 5000)
	sealed := seal(t, enc, trust.SealToMeasurement, data, 3)
	if bytes.Contains(sealed, canary[:16]) {
		t.Fatal("canary in the sealed stream")
	}
}

func TestIdentity(t *testing.T) {
	w := newWorld(t)
	data := bytes.Repeat([]byte("identity"), 10000)
	a := w.enclave(t, 1, "cfg", "signer")
	sameCode := w.enclave(t, 1, "cfg", "signer")
	otherBinary := w.enclave(t, 2, "cfg", "signer")
	otherConfig := w.enclave(t, 1, "cfg2", "signer")
	otherSigner := w.enclave(t, 2, "cfg", "another signer")
	otherPlatform := newWorld(t).enclave(t, 1, "cfg", "signer")

	byMeasurement := seal(t, a, trust.SealToMeasurement, data, 3)
	bySigner := seal(t, a, trust.SealToSigner, data, 3)
	for _, tc := range []struct {
		name   string
		enc    trust.Enclave
		sealed []byte
		ok     bool
	}{
		{"measurement, same code", sameCode, byMeasurement, true},
		{"measurement, other binary", otherBinary, byMeasurement, false},
		{"measurement, other config", otherConfig, byMeasurement, false},
		{"measurement, other platform", otherPlatform, byMeasurement, false},
		{"signer, other binary", otherBinary, bySigner, true},
		{"signer, other signer", otherSigner, bySigner, false},
		{"signer, other platform", otherPlatform, bySigner, false},
	} {
		got, err := open(tc.enc, tc.sealed)
		if tc.ok && (err != nil || !bytes.Equal(got, data)) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, ErrIdentity) {
			t.Errorf("%s: got %v, want ErrIdentity", tc.name, err)
		}
	}
}

// TestTamperAndTruncate flips every byte position class and cuts the
// stream everywhere that matters: nothing but the original opens.
func TestTamperAndTruncate(t *testing.T) {
	w := newWorld(t)
	enc := w.enclave(t, 1, "cfg", "signer")
	data := make([]byte, 3*ChunkSize+1000)
	rand.New(rand.NewSource(1)).Read(data)
	sealed := seal(t, enc, trust.SealToMeasurement, data, 5)
	rng := rand.New(rand.NewSource(2))
	positions := []int{0, 8, 9, 12, 30, len(sealed) - 1, len(sealed) - 17}
	for i := 0; i < 200; i++ {
		positions = append(positions, rng.Intn(len(sealed)))
	}
	for _, pos := range positions {
		bad := bytes.Clone(sealed)
		bad[pos] ^= byte(1 + rng.Intn(255))
		got, err := open(enc, bad)
		if err == nil {
			t.Fatalf("flip at %d of %d: opened (%d bytes)", pos, len(sealed), len(got))
		}
	}
	for _, cut := range append([]int{0, 5, 20, len(sealed) - 1}, rng.Perm(len(sealed))[:200]...) {
		if _, err := open(enc, sealed[:cut]); err == nil {
			t.Fatalf("cut at %d of %d: opened", cut, len(sealed))
		} else if cut > 100 && !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: %v, want ErrTruncated", cut, err)
		}
	}
	if _, err := open(enc, append(bytes.Clone(sealed), 0)); !errors.Is(err, ErrTrailing) {
		t.Fatalf("appended byte: %v", err)
	}
	// Dropping a whole middle chunk or swapping two is caught too.
	hdrLen := len(sealed) - (4*(4+chunkOverhead) + len(data))
	c := 4 + ChunkSize + chunkOverhead
	c0, c1 := sealed[hdrLen:hdrLen+c], sealed[hdrLen+c:hdrLen+2*c]
	dropped := append(append(bytes.Clone(sealed[:hdrLen]), c1...), sealed[hdrLen+2*c:]...)
	swapped := append(append(append(bytes.Clone(sealed[:hdrLen]), c1...), c0...), sealed[hdrLen+2*c:]...)
	for name, s := range map[string][]byte{"dropped": dropped, "swapped": swapped} {
		if _, err := open(enc, s); !errors.Is(err, ErrTampered) {
			t.Fatalf("%s chunk: %v", name, err)
		}
	}
	// A stream written for another purpose is refused.
	if _, err := NewReader(bytes.NewReader(sealed), enc, "another label"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("other label: %v", err)
	}
}

func BenchmarkSealStream(b *testing.B) {
	w := newWorld(b)
	enc := w.enclave(b, 1, "cfg", "signer")
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sw, _ := NewWriter(io.Discard, enc, trust.SealToMeasurement, label)
		sw.Write(data)
		sw.Close()
	}
}
