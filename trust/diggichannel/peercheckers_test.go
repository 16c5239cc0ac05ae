package diggichannel

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
)

// hwBackend launches sim enclaves whose evidence is relabelled as a
// hardware backend's: a sim envelope carried as the "vendor report" of an
// envelope naming the backend, as a confidential VM's evidence is carried.
// Only hwChecker can read it.
type hwBackend struct {
	trust.Backend
	name string
}

func (b hwBackend) Name() string { return b.name }

func (b hwBackend) Launch(spec trust.LaunchSpec) (trust.Enclave, error) {
	e, err := b.Backend.Launch(spec)
	return hwEnclave{Enclave: e, name: b.name}, err
}

type hwEnclave struct {
	trust.Enclave
	name string
}

func (e hwEnclave) Backend() string { return e.name }

func (e hwEnclave) Attest(rd trust.ReportData) (*trust.Evidence, error) {
	inner, err := e.Enclave.Attest(rd)
	if err != nil {
		return nil, err
	}
	report, err := inner.Marshal()
	if err != nil {
		return nil, err
	}
	return &trust.Evidence{Version: trust.EvidenceVersion, Backend: e.name, IssuedAt: inner.IssuedAt, Report: report}, nil
}

// hwChecker is the hardware verifier of hwBackend's evidence: it counts
// its calls, and accepts only the measurements it is given.
type hwChecker struct {
	sim   *trust.Verifier
	allow trust.Measurement
	calls atomic.Int32
}

func (c *hwChecker) Check(ev *trust.Evidence, _ time.Time) (*trust.Attested, error) {
	c.calls.Add(1)
	inner, err := trust.UnmarshalEvidence(ev.Report)
	if err != nil {
		return nil, err
	}
	claims, rd, err := c.sim.Inspect(inner)
	if err != nil {
		return nil, err
	}
	if claims.Measurement != c.allow {
		return nil, trust.ErrMeasurementNotAllowed
	}
	return &trust.Attested{ReportData: rd, Hardware: &trust.HardwareClaims{Measurement: claims.Measurement[:]}}, nil
}

// TestPeerCheckersVerifyHardwarePeers: a trusted agent whose peer runs on
// another instance's confidential VM checks the peer's evidence with the
// checker registered for that backend (Options.PeerCheckers), under that
// checker's policy; without one, the evidence is refused.
func TestPeerCheckersVerifyHardwarePeers(t *testing.T) {
	w := testsim.New(t)
	cfgX := diggi.Config{Instance: "x", Agents: []diggi.AgentConfig{{Name: "a", Kind: "k", Trusted: true}}}
	cfgY := diggi.Config{Instance: "y", Agents: []diggi.AgentConfig{{Name: "c", Kind: "k", Trusted: true}}}
	signer := trust.SignerFromKey([]byte("test"))
	specs := func(self, other diggi.Config) *ConfigAgents {
		s, err := AgentsFromConfig(self, signer)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Add(other); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := diggi.Info{ID: diggi.MakeAgentID(1, 1), Name: "a", Kind: "k", Instance: "x", Trusted: true}
	c := diggi.Info{ID: diggi.MakeAgentID(2, 1), Name: "c", Kind: "k", Instance: "y", Trusted: true}
	cSpec, err := specs(cfgY, cfgX).Spec(c)
	if err != nil {
		t.Fatal(err)
	}
	simOnly, err := trust.NewVerifier(trust.Policy{Signers: []trust.Signer{signer}, AllowSimulated: true, SimRoots: w.SimRoots()})
	if err != nil {
		t.Fatal(err)
	}
	// y runs on the "sev-snp" stand-in; it accepts x's sim evidence.
	fy, err := New(Options{Backend: hwBackend{Backend: w.Backend, name: trust.BackendSNP}, Agents: specs(cfgY, cfgX),
		AllowSimulated: true, SimRoots: w.SimRoots(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	pair := func(checkers map[string]trust.Checker) (*Channel, *Channel) {
		fx, err := New(Options{Backend: w.Backend, Agents: specs(cfgX, cfgY), AllowSimulated: true, SimRoots: w.SimRoots(),
			PeerCheckers: checkers, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		ac, err := fx.Channel(a, c)
		if err != nil || ac == nil {
			t.Fatalf("a -> c: %v, %v", ac, err)
		}
		ca, err := fy.Channel(c, a)
		if err != nil || ca == nil {
			t.Fatalf("c -> a: %v, %v", ca, err)
		}
		return ac, ca
	}
	// handshake runs the opening and answer; a checks c's evidence on the
	// answer.
	handshake := func(ac, ca *Channel) error {
		m1, err := ac.Begin()
		if err != nil {
			return err
		}
		m2, _, err := ca.Step(m1)
		if err != nil {
			return err
		}
		_, _, err = ac.Step(m2)
		return err
	}

	good := &hwChecker{sim: simOnly, allow: trust.Measure(cSpec.Identity, cSpec.Config)}
	ac, ca := pair(map[string]trust.Checker{trust.BackendSNP: good})
	connect(t, ac, ca)
	if good.calls.Load() == 0 {
		t.Fatal("the peer's sev-snp evidence was not checked by the sev-snp checker")
	}

	wrong := &hwChecker{sim: simOnly, allow: trust.Measurement{7}}
	if err := handshake(pair(map[string]trust.Checker{trust.BackendSNP: wrong})); !errors.Is(err, trust.ErrMeasurementNotAllowed) {
		t.Fatalf("a VM the checker's policy refuses: %v", err)
	}
	if wrong.calls.Load() == 0 {
		t.Fatal("the refusing checker was not asked")
	}
	if err := handshake(pair(nil)); !errors.Is(err, trust.ErrUnknownBackend) {
		t.Fatalf("sev-snp evidence without a sev-snp checker: %v", err)
	}
	// Another backend's checker does not stand in.
	if err := handshake(pair(map[string]trust.Checker{trust.BackendTDX: good})); !errors.Is(err, trust.ErrUnknownBackend) {
		t.Fatalf("sev-snp evidence with only a tdx checker: %v", err)
	}
}
