package trust

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPlatformPersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	root, err := LoadOrCreateSimRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := LoadOrCreatePlatform(dir, root)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := NewSimBackend(p1)
	e1, _ := b1.Launch(testSpec("cache", ""))
	blob, err := e1.Seal(SealToMeasurement, []byte("state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{PlatformFile, SimRootFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}

	// "Restart": load everything again from the directory.
	root2, err := LoadOrCreateSimRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !root2.Certificate().Equal(root.Certificate()) {
		t.Fatal("sim root changed across restart")
	}
	p2, err := LoadOrCreatePlatform(dir, root2)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Certificate().Equal(p1.Certificate()) {
		t.Fatal("platform certificate changed across restart")
	}
	b2, _ := NewSimBackend(p2)
	e2, _ := b2.Launch(testSpec("cache", ""))
	got, err := e2.Unseal(blob, nil)
	if err != nil || !bytes.Equal(got, []byte("state")) {
		t.Fatalf("unseal after restart: %q, %v", got, err)
	}

	// A platform file from another root is refused, not silently replaced.
	other, _ := NewSimRoot()
	if _, err := LoadOrCreatePlatform(dir, other); !errors.Is(err, ErrPlatform) {
		t.Fatalf("foreign root: %v", err)
	}
}

func TestParsePlatformPEMRejects(t *testing.T) {
	root, _ := NewSimRoot()
	p, _ := NewPlatform(root)
	good, _ := p.MarshalPEM()
	zero := &Platform{key: p.key, cert: p.cert}
	zeroPEM, _ := zero.MarshalPEM()
	other, _ := NewPlatform(root)
	otherPEM, _ := other.MarshalPEM()
	mixed := append(bytes.Clone(otherPEM[:bytes.Index(otherPEM, []byte("-----BEGIN CERTIFICATE"))]),
		good[bytes.Index(good, []byte("-----BEGIN CERTIFICATE")):]...)
	for name, data := range map[string][]byte{
		"empty":             nil,
		"all-zero secret":   zeroPEM,
		"key/cert mismatch": mixed,
		"garbage":           []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	} {
		if _, err := ParsePlatformPEM(data, root.Certificate()); !errors.Is(err, ErrPlatform) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := ParsePlatformPEM(good, root.Certificate()); err != nil {
		t.Fatalf("good platform: %v", err)
	}
	if _, err := NewPlatform(nil); !errors.Is(err, ErrPlatform) {
		t.Fatalf("NewPlatform(nil): %v", err)
	}
	rootPEM, _ := root.MarshalPEM()
	certs, err := ParseCertificatesPEM(rootPEM)
	if err != nil || len(certs) != 1 || !certs[0].Equal(root.Certificate()) {
		t.Fatalf("ParseCertificatesPEM: %v", err)
	}
}
