package trust

import (
	"crypto/x509"
	"testing"
	"time"
)

// testWorld is a sim root, a platform and a backend.
type testWorld struct {
	root     *SimRoot
	platform *Platform
	backend  *SimBackend
}

func newTestWorld(t testing.TB) *testWorld {
	t.Helper()
	root, err := NewSimRoot()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlatform(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSimBackend(p)
	if err != nil {
		t.Fatal(err)
	}
	return &testWorld{root: root, platform: p, backend: b}
}

func testSpec(kind string, config string) LaunchSpec {
	return LaunchSpec{
		Identity: CodeIdentity{BinaryHash: [32]byte{1, 2, 3}, Kind: kind},
		Config:   []byte(config),
		Signer:   SignerFromKey([]byte("test signer")),
	}
}

func (w *testWorld) launch(t testing.TB, spec LaunchSpec) Enclave {
	t.Helper()
	e, err := w.backend.Launch(spec)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (w *testWorld) roots() []*x509.Certificate { return []*x509.Certificate{w.root.Certificate()} }

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
