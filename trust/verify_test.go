package trust

import (
	"errors"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	w := newTestWorld(t)
	other := newTestWorld(t) // a platform under a different sim root
	spec := testSpec("cache", "m=64")
	enc := w.launch(t, spec)
	now := time.Now()
	key := []byte("channel public key")
	nonce := [32]byte{1, 2, 3}
	want := BindKey(PurposeChannel, key, nonce)

	good := Policy{Measurements: []Measurement{enc.Measurement()}, Signers: []Signer{spec.Signer},
		AllowSimulated: true, SimRoots: w.roots()}
	attest := func(e Enclave, rd ReportData) *Evidence {
		ev, err := e.Attest(rd)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	cases := []struct {
		name   string
		policy func(p *Policy)
		ev     func() *Evidence
		want   ReportData
		clock  time.Time
		err    error
	}{
		{name: "accepted", ev: func() *Evidence { return attest(enc, want) }},
		{name: "simulated refused by default", policy: func(p *Policy) { p.AllowSimulated = false; p.SimRoots = nil },
			ev: func() *Evidence { return attest(enc, want) }, err: ErrSimulatedRefused},
		{name: "wrong measurement", ev: func() *Evidence { return attest(w.launch(t, testSpec("cache", "m=65")), want) },
			err: ErrMeasurementNotAllowed},
		{name: "wrong signer", ev: func() *Evidence {
			s := spec
			s.Signer = SignerFromKey([]byte("mallory"))
			return attest(w.launch(t, s), want)
		}, policy: func(p *Policy) { p.Measurements = nil }, err: ErrSignerNotAllowed},
		{name: "signer only policy accepts new version", policy: func(p *Policy) { p.Measurements = nil },
			ev: func() *Evidence { return attest(w.launch(t, testSpec("cache", "v2")), want) }},
		{name: "replayed nonce", ev: func() *Evidence { return attest(enc, BindKey(PurposeChannel, key, [32]byte{9})) },
			err: ErrReportDataMismatch},
		{name: "other key", ev: func() *Evidence { return attest(enc, BindKey(PurposeChannel, []byte("mitm"), nonce)) },
			err: ErrReportDataMismatch},
		{name: "other purpose", ev: func() *Evidence { return attest(enc, BindKey(PurposeRATLS, key, nonce)) },
			err: ErrReportDataMismatch},
		{name: "expired", ev: func() *Evidence { return attest(enc, want) }, clock: now.Add(DefaultMaxAge + time.Minute),
			err: ErrEvidenceExpired},
		{name: "future", ev: func() *Evidence { return attest(enc, want) }, clock: now.Add(-time.Hour),
			err: ErrEvidenceFromFuture},
		{name: "untrusted root", ev: func() *Evidence { return attest(other.launch(t, spec), want) }, err: ErrBadSignature},
		{name: "tampered measurement", ev: func() *Evidence {
			ev := attest(w.launch(t, testSpec("cache", "evil")), want)
			ev.Measurement = enc.Measurement()
			return ev
		}, err: ErrBadSignature},
		{name: "claims not simulated", policy: func(p *Policy) {},
			ev: func() *Evidence { ev := attest(enc, want); ev.Simulated = false; return ev }, err: ErrBadSignature},
		{name: "unknown backend", ev: func() *Evidence { ev := attest(enc, want); ev.Backend = "sev-snp"; ev.Simulated = false; return ev },
			err: ErrUnknownBackend},
		{name: "bad version", ev: func() *Evidence { ev := attest(enc, want); ev.Version = EvidenceVersion + 1; return ev }, err: ErrEvidenceVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := good
			if c.policy != nil {
				c.policy(&p)
			}
			clock := now
			if !c.clock.IsZero() {
				clock = c.clock
			}
			v, err := NewVerifier(p, WithClock(fixedClock(clock)))
			if err != nil {
				t.Fatal(err)
			}
			ev := c.ev()
			rd := want
			if c.want != (ReportData{}) {
				rd = c.want
			}
			claims, err := v.Verify(ev, rd)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("Verify err = %v, want %v", err, c.err)
			}
			if err == nil && (!claims.Simulated || claims.Measurement != ev.Measurement) {
				t.Fatalf("claims %+v", claims)
			}
		})
	}
}

func TestNewVerifierRefusesWeakPolicies(t *testing.T) {
	if _, err := NewVerifier(Policy{AllowSimulated: true}); !errors.Is(err, ErrEmptyPolicy) {
		t.Fatalf("empty policy: %v", err)
	}
	if _, err := NewVerifier(Policy{Signers: []Signer{{1}}, AllowSimulated: true}); err == nil {
		t.Fatal("simulation allowed without a root")
	}
}

func TestVerifyBytesMalformed(t *testing.T) {
	w := newTestWorld(t)
	v, err := NewVerifier(Policy{Signers: []Signer{{1}}, AllowSimulated: true, SimRoots: w.roots()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyBytes([]byte("junk"), ReportData{}); !errors.Is(err, ErrEvidenceMalformed) {
		t.Fatalf("err = %v", err)
	}
}

// TestVerifyChainCache checks that a remembered platform chain still gets
// its validity window and the evidence signature checked on every use.
func TestVerifyChainCache(t *testing.T) {
	w := newTestWorld(t)
	spec := testSpec("cache", "")
	enc := w.launch(t, spec)
	clock := time.Now()
	v, err := NewVerifier(Policy{Signers: []Signer{spec.Signer}, AllowSimulated: true, SimRoots: w.roots()},
		WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	rd := BindKey(PurposeChannel, []byte("k"), [32]byte{1})
	for range 2 { // cold, then cached
		ev, _ := enc.Attest(rd)
		if _, err := v.Verify(ev, rd); err != nil {
			t.Fatal(err)
		}
	}
	ev, _ := enc.Attest(rd)
	ev.Signature[0] ^= 1
	if _, err := v.Verify(ev, rd); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bad signature with a cached chain: %v", err)
	}
	// Long after the platform certificate expired, fresh evidence from
	// the same platform is refused even though its chain was cached.
	clock = w.platform.Certificate().NotAfter.Add(24 * time.Hour)
	w.backend.now = func() time.Time { return clock }
	ev, _ = w.launch(t, spec).Attest(rd)
	if _, err := v.Verify(ev, rd); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("expired platform certificate: %v", err)
	}
}
