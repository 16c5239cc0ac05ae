package channel

import (
	"io"
	"log/slog"
	"testing"

	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
)

// world is one sim root and platform with enclaves launched on it.
type world struct{ *testsim.World }

func newWorld(t testing.TB) *world { return &world{testsim.New(t)} }

var testSigner = trust.SignerFromKey([]byte("channel test signer"))

func (w *world) enclave(t testing.TB, kind string) trust.Enclave {
	t.Helper()
	return w.Launch(t, trust.LaunchSpec{
		Identity: trust.CodeIdentity{BinaryHash: [32]byte{7}, Kind: kind},
		Signer:   testSigner,
	})
}

// verifier accepts the given enclaves' measurements under this world's root.
func (w *world) verifier(t testing.TB, allowed ...trust.Enclave) *trust.Verifier {
	t.Helper()
	v, err := trust.NewVerifier(w.Policy(allowed...))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// quiet is a logger that discards output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// handshake runs a complete handshake in memory.
func handshake(t testing.TB, ic, rc Config) (initiator, responder *Channel, err error) {
	t.Helper()
	if ic.Logger == nil {
		ic.Logger = quiet
	}
	if rc.Logger == nil {
		rc.Logger = quiet
	}
	i, err := NewInitiator(ic)
	if err != nil {
		return nil, nil, err
	}
	r, err := NewResponder(rc)
	if err != nil {
		return nil, nil, err
	}
	m1, _, err := i.Step(nil)
	if err != nil {
		return nil, nil, err
	}
	m2, _, err := r.Step(m1)
	if err != nil {
		return nil, nil, err
	}
	m3, ich, err := i.Step(m2)
	if err != nil {
		return nil, nil, err
	}
	_, rch, err := r.Step(m3)
	if err != nil {
		return nil, nil, err
	}
	if ich == nil || rch == nil {
		t.Fatal("handshake finished without channels")
	}
	return ich, rch, nil
}

// trustedPair is two trusted agents that require each other's attestation.
func trustedPair(t testing.TB, w *world, cfg Config) (a, b *Channel) {
	t.Helper()
	ea, eb := w.enclave(t, "client"), w.enclave(t, "cache")
	ac, bc := cfg, cfg
	ac.Enclave, ac.Verifier = ea, w.verifier(t, eb)
	bc.Enclave, bc.Verifier = eb, w.verifier(t, ea)
	a, b, err := handshake(t, ac, bc)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
