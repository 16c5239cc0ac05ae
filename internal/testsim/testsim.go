package testsim

import (
	"crypto/x509"
	"testing"

	"github.com/securecached/securecached/trust"
)

// World is one sim root with one platform and its enclave backend.
type World struct {
	Root     *trust.SimRoot
	Platform *trust.Platform
	Backend  *trust.SimBackend
}

// New makes a World or fails the test.
func New(t testing.TB) *World {
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
	return &World{Root: root, Platform: p, Backend: b}
}

// Launch starts an enclave on the world's platform or fails the test.
func (w *World) Launch(t testing.TB, spec trust.LaunchSpec) trust.Enclave {
	t.Helper()
	e, err := w.Backend.Launch(spec)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// SimRoots is the trust anchor list a verifier of this world's evidence needs.
func (w *World) SimRoots() []*x509.Certificate {
	return []*x509.Certificate{w.Root.Certificate()}
}

// Policy accepts simulated evidence under this world's root from enclaves
// with the measurements of allowed. With none allowed the policy is empty
// until the caller adds signers (trust.NewVerifier refuses it as it is).
func (w *World) Policy(allowed ...trust.Enclave) trust.Policy {
	p := trust.Policy{AllowSimulated: true, SimRoots: w.SimRoots()}
	for _, e := range allowed {
		p.Measurements = append(p.Measurements, e.Measurement())
	}
	return p
}

// Load returns the World kept in dir, creating it on first use, so that
// several processes of one test (a parent and the children it starts)
// share one sim root and platform.
func Load(dir string) (*World, error) {
	root, err := trust.LoadOrCreateSimRoot(dir)
	if err != nil {
		return nil, err
	}
	p, err := trust.LoadOrCreatePlatform(dir, root)
	if err != nil {
		return nil, err
	}
	b, err := trust.NewSimBackend(p)
	if err != nil {
		return nil, err
	}
	return &World{Root: root, Platform: p, Backend: b}, nil
}

// StandIn is the world's sim backend under the name of another backend
// (trust.BackendSNP, trust.BackendTDX). Only its trust domain
// (trust.DomainOf its name) differs from sim's, and that is all the seal
// decision looks at; its enclaves still make sim evidence, which the
// world's policy accepts. It stands in for a confidential VM where tests
// check where plaintext may appear, never where the vendor's evidence is
// checked.
func (w *World) StandIn(name string) trust.Backend {
	if name == trust.BackendSim {
		return w.Backend
	}
	return standIn{Backend: w.Backend, name: name}
}

type standIn struct {
	trust.Backend
	name string
}

func (b standIn) Name() string { return b.name }
