package channel

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/trust"
)

func TestMutualAttestation(t *testing.T) {
	w := newWorld(t)
	a, b := trustedPair(t, w, Config{})
	if a.Peer() == nil || b.Peer() == nil {
		t.Fatal("trusted peers did not attest")
	}
	if a.Peer().Measurement != w.enclave(t, "cache").Measurement() ||
		b.Peer().Measurement != w.enclave(t, "client").Measurement() {
		t.Fatal("claims name the wrong measurement")
	}
	if !a.Peer().Simulated {
		t.Fatal("sim claims must say simulated")
	}
	if a.Binding() != b.Binding() {
		t.Fatal("the two sides disagree on the channel binding")
	}
	rec, err := a.Seal(nil, []byte("hello"), []byte("hdr"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Open(nil, rec, []byte("hdr"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	rec, _ = b.Seal(nil, []byte("back"), nil)
	if got, err := a.Open(nil, rec, nil); err != nil || string(got) != "back" {
		t.Fatalf("reverse Open = %q, %v", got, err)
	}
}

func TestUntrustedClientVerifiesTrustedServer(t *testing.T) {
	w := newWorld(t)
	server := w.enclave(t, "cache")
	client, err := trust.NoneBackend{}.Launch(trust.LaunchSpec{})
	if err != nil {
		t.Fatal(err)
	}
	// The untrusted client verifies the server; the server serves anyone.
	c, s, err := handshake(t, Config{Enclave: client, Verifier: w.verifier(t, server)}, Config{Enclave: server})
	if err != nil {
		t.Fatal(err)
	}
	if c.Peer() == nil || c.Peer().Measurement != server.Measurement() {
		t.Fatal("client did not verify the server")
	}
	if s.Peer() != nil {
		t.Fatal("server claims to know an unattested client")
	}
	rec, _ := c.Seal(nil, []byte("get k"), nil)
	if bytes.Contains(rec, []byte("get k")) {
		t.Fatal("untrusted-to-trusted channel is not encrypted")
	}
	if got, err := s.Open(nil, rec, nil); err != nil || string(got) != "get k" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

// replayEnclave returns evidence captured from an earlier handshake, the
// way a compromised host would replay a genuine report.
type replayEnclave struct {
	trust.Enclave
	old *trust.Evidence
}

func (r replayEnclave) Attest(trust.ReportData) (*trust.Evidence, error) { return r.old, nil }

func TestHandshakeRefusals(t *testing.T) {
	w := newWorld(t)
	other := newWorld(t)
	client, cache := w.enclave(t, "client"), w.enclave(t, "cache")
	impostor := w.enclave(t, "impostor")
	none, _ := trust.NoneBackend{}.Launch(trust.LaunchSpec{})
	strict, err := trust.NewVerifier(trust.Policy{Measurements: []trust.Measurement{cache.Measurement()}})
	if err != nil {
		t.Fatal(err)
	}
	captured, err := cache.Attest(trust.BindKey(trust.PurposeChannel, []byte("old key"), [32]byte{1}))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		ic, rc Config
		want   error
	}{
		{"peer sends no evidence", Config{Enclave: client, Verifier: w.verifier(t, cache)}, Config{Enclave: none}, ErrPeerNotAttested},
		{"wrong measurement", Config{Enclave: client, Verifier: w.verifier(t, cache)}, Config{Enclave: impostor}, trust.ErrMeasurementNotAllowed},
		{"simulated refused by default", Config{Enclave: client, Verifier: strict}, Config{Enclave: cache}, trust.ErrSimulatedRefused},
		{"other sim root", Config{Enclave: client, Verifier: w.verifier(t, cache)},
			Config{Enclave: other.backendEnclave(t, cache)}, trust.ErrBadSignature},
		{"replayed evidence", Config{Enclave: client, Verifier: w.verifier(t, cache)},
			Config{Enclave: replayEnclave{cache, captured}}, trust.ErrReportDataMismatch},
		{"responder refuses unattested initiator", Config{Enclave: none}, Config{Enclave: cache, Verifier: w.verifier(t, client)}, ErrPeerNotAttested},
		{"responder refuses wrong initiator", Config{Enclave: impostor}, Config{Enclave: cache, Verifier: w.verifier(t, client)}, trust.ErrMeasurementNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := handshake(t, c.ic, c.rc)
			if !errors.Is(err, ErrHandshake) || !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// backendEnclave launches an enclave with like's identity on w's platform.
func (w *world) backendEnclave(t *testing.T, like trust.Enclave) trust.Enclave {
	e := w.Launch(t, trust.LaunchSpec{
		Identity: trust.CodeIdentity{BinaryHash: [32]byte{7}, Kind: "cache"},
		Signer:   like.Signer(),
	})
	if e.Measurement() != like.Measurement() {
		t.Fatal("test setup: measurements differ")
	}
	return e
}

func TestHandshakeRejectsBadMessages(t *testing.T) {
	w := newWorld(t)
	cache := w.enclave(t, "cache")
	start := func() (*Handshake, *Handshake, []byte) {
		i, _ := NewInitiator(Config{Logger: quiet, Verifier: w.verifier(t, cache)})
		r, _ := NewResponder(Config{Logger: quiet, Enclave: cache})
		m1, _, err := i.Step(nil)
		if err != nil {
			t.Fatal(err)
		}
		return i, r, m1
	}
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }

	t.Run("flipped message 2", func(t *testing.T) {
		i, r, m1 := start()
		m2, _, _ := r.Step(m1)
		if _, _, err := i.Step(flip(m2, len(m2)-3)); !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v", err)
		}
		// A failed handshake stays failed, even given the genuine message.
		if _, _, err := i.Step(m2); !errors.Is(err, ErrHandshake) {
			t.Fatalf("retry err = %v", err)
		}
	})
	t.Run("message 2 from another handshake", func(t *testing.T) {
		i, _, _ := start()
		_, r2, m1b := start()
		m2b, _, _ := r2.Step(m1b)
		if _, _, err := i.Step(m2b); !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v", err)
		}
	})
	for _, in := range [][]byte{nil, {}, {Version}, {Version, typeHS2}, {9, typeHS1, 1, 2}, make([]byte, maxHandshakeMsg+1)} {
		_, r, _ := start()
		if _, _, err := r.Step(in); !errors.Is(err, ErrHandshake) {
			t.Errorf("responder accepted %x: %v", in[:min(len(in), 8)], err)
		}
	}
	t.Run("initiator given input first", func(t *testing.T) {
		i, _ := NewInitiator(Config{Logger: quiet})
		if _, _, err := i.Step([]byte{1, 1}); !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("step after completion", func(t *testing.T) {
		i, r, m1 := start()
		m2, _, _ := r.Step(m1)
		m3, ch, err := i.Step(m2)
		if err != nil || ch == nil {
			t.Fatal(err)
		}
		if _, _, err := i.Step(m3); !errors.Is(err, ErrHandshake) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestHandshakeFailureIsLogged(t *testing.T) {
	w := newWorld(t)
	var logs testenv.SyncBuffer
	cfg := Config{Verifier: w.verifier(t, w.enclave(t, "cache")), Logger: newLogger(&logs), Name: "client->cache"}
	_, _, err := handshake(t, cfg, Config{Enclave: w.enclave(t, "impostor")})
	if err == nil {
		t.Fatal("impostor accepted")
	}
	if !strings.Contains(logs.String(), "handshake failed") || !strings.Contains(logs.String(), "client->cache") {
		t.Fatalf("log: %q", logs.String())
	}
}

// FuzzHandshakeStep feeds arbitrary bytes to both sides at every step they
// read: a failed handshake must be an error, never a panic or a channel.
func FuzzHandshakeStep(f *testing.F) {
	w := newWorld(f)
	cache := w.enclave(f, "cache")
	i0, _ := NewInitiator(Config{Logger: quiet})
	m1, _, _ := i0.Step(nil)
	r0, _ := NewResponder(Config{Logger: quiet, Enclave: cache})
	m2, _, _ := r0.Step(m1)
	f.Add(m1, m2)
	f.Add([]byte{Version, typeHS1}, []byte{Version, typeHS2})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r, _ := NewResponder(Config{Logger: quiet, Enclave: cache})
		if _, ch, err := r.Step(a); ch != nil {
			t.Fatalf("responder finished on one message (err %v)", err)
		}
		i, _ := NewInitiator(Config{Logger: quiet, Verifier: w.verifier(t, cache)})
		if _, _, err := i.Step(nil); err != nil {
			t.Fatal(err)
		}
		if _, ch, err := i.Step(b); err == nil || ch != nil {
			t.Fatalf("initiator accepted a message 2 it did not solicit: %v", err)
		}
	})
}

func TestHandshakeStep(t *testing.T) {
	i, _ := NewInitiator(Config{Logger: quiet})
	m1, _, _ := i.Step(nil)
	for _, c := range []struct {
		in   []byte
		want int
	}{{m1, 1}, {[]byte{Version, typeHS2}, 2}, {[]byte{Version, typeHS3, 9}, 3}, {nil, 0}, {[]byte{Version}, 0},
		{[]byte{Version, typeData}, 0}, {[]byte{Version + 1, typeHS1}, 0}} {
		if got := HandshakeStep(c.in); got != c.want {
			t.Errorf("HandshakeStep(%x) = %d, want %d", c.in, got, c.want)
		}
	}
}
