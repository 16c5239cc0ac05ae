package ratls

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// world is one sim root and platform with enclaves launched on it.
type world struct{ *testsim.World }

func newWorld(t testing.TB) *world { return &world{testsim.New(t)} }

func (w *world) enclave(t testing.TB, kind string) trust.Enclave {
	t.Helper()
	return w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: kind}, Signer: trust.Signer{1}})
}

// verifier accepts the allowed enclaves' measurements; simulated evidence
// only when allowSim.
func (w *world) verifier(t testing.TB, allowSim bool, opts []trust.VerifierOption, allowed ...trust.Enclave) *trust.Verifier {
	t.Helper()
	p := w.Policy(allowed...)
	if !allowSim {
		p.AllowSimulated, p.SimRoots = false, nil
	}
	v, err := trust.NewVerifier(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// handshake connects a client and a server config over an in-memory pipe
// and echoes one line; it returns the client's and the server's errors.
func handshake(t *testing.T, server, client *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	// Loopback TCP rather than net.Pipe: TLS close alerts need buffering.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)
	done := make(chan error, 1)
	go func() {
		c1, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		_ = c1.SetDeadline(deadline)
		s := tls.Server(c1, server)
		defer s.Close()
		if err := s.Handshake(); err != nil {
			done <- err
			return
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(s, buf); err != nil {
			done <- err
			return
		}
		_, err = s.Write(buf)
		done <- err
	}()
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c2.SetDeadline(deadline)
	c := tls.Client(c2, client)
	clientErr = c.Handshake()
	if clientErr == nil {
		if _, err := c.Write([]byte("hello")); err != nil {
			clientErr = err
		} else {
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
				clientErr = errors.Join(errors.New("echo failed"), err)
			}
		}
	}
	c.Close()
	return clientErr, <-done
}

func TestRATLS(t *testing.T) {
	w := newWorld(t)
	cache := w.enclave(t, "cache")
	client := w.enclave(t, "client")
	other := newWorld(t)
	server, err := ServerConfig(ServerOptions{Enclave: cache})
	if err != nil {
		t.Fatal(err)
	}
	mutual, err := ServerConfig(ServerOptions{Enclave: cache, ClientVerifier: w.verifier(t, true, nil, client)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		server  *tls.Config
		client  ClientOptions
		wantErr error // nil: the handshake and echo succeed
	}{
		{"nonce", server, ClientOptions{Verifier: w.verifier(t, true, nil, cache), Nonce: true}, nil},
		{"no nonce", server, ClientOptions{Verifier: w.verifier(t, true, nil, cache)}, nil},
		{"simulated refused by default", server, ClientOptions{Verifier: w.verifier(t, false, nil, cache), Nonce: true}, trust.ErrSimulatedRefused},
		{"wrong measurement", server, ClientOptions{Verifier: w.verifier(t, true, nil, client), Nonce: true}, trust.ErrMeasurementNotAllowed},
		{"other sim root", server, ClientOptions{Verifier: other.verifier(t, true, nil, cache)}, trust.ErrBadSignature},
		{"expired evidence", server, ClientOptions{Verifier: w.verifier(t, true,
			[]trust.VerifierOption{trust.WithClock(func() time.Time { return time.Now().Add(time.Hour) })}, cache)}, trust.ErrEvidenceExpired},
		{"mutual", mutual, ClientOptions{Verifier: w.verifier(t, true, nil, cache), Enclave: client}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var claims *trust.Claims
			c.client.OnVerified = func(cl *trust.Claims) { claims = cl }
			cfg, err := ClientConfig(c.client)
			if err != nil {
				t.Fatal(err)
			}
			cerr, serr := handshake(t, c.server, cfg)
			if c.wantErr == nil {
				if cerr != nil || serr != nil {
					t.Fatalf("client %v, server %v", cerr, serr)
				}
				if claims == nil || claims.Measurement != cache.Measurement() || !claims.Simulated {
					t.Fatalf("claims %+v", claims)
				}
				return
			}
			if !errors.Is(cerr, c.wantErr) {
				t.Fatalf("client err = %v, want %v", cerr, c.wantErr)
			}
		})
	}
}

func TestMutualRefusesUnattestedClient(t *testing.T) {
	w := newWorld(t)
	cache, client := w.enclave(t, "cache"), w.enclave(t, "client")
	mutual, err := ServerConfig(ServerOptions{Enclave: cache, ClientVerifier: w.verifier(t, true, nil, client)})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := ClientConfig(ClientOptions{Verifier: w.verifier(t, true, nil, cache)})
	_, serr := handshake(t, mutual, cfg)
	if serr == nil {
		t.Fatal("server accepted a client without a certificate")
	}
	impostor := w.enclave(t, "impostor")
	cfg, _ = ClientConfig(ClientOptions{Verifier: w.verifier(t, true, nil, cache), Enclave: impostor})
	if _, serr := handshake(t, mutual, cfg); !errors.Is(serr, trust.ErrMeasurementNotAllowed) {
		t.Fatalf("server err = %v", serr)
	}
}

func TestNonceConfigIsSingleUse(t *testing.T) {
	w := newWorld(t)
	cache := w.enclave(t, "cache")
	server, _ := ServerConfig(ServerOptions{Enclave: cache})
	cfg, err := ClientConfig(ClientOptions{Verifier: w.verifier(t, true, nil, cache), Nonce: true})
	if err != nil {
		t.Fatal(err)
	}
	if cerr, serr := handshake(t, server, cfg); cerr != nil || serr != nil {
		t.Fatalf("first: %v %v", cerr, serr)
	}
	if cerr, _ := handshake(t, server, cfg); !errors.Is(cerr, ErrNonceReused) {
		t.Fatalf("second: %v", cerr)
	}
}

// staticServer always presents the same certificate: a server replaying a
// certificate made for an old nonce, or one whose evidence is missing.
func staticServer(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
}

func TestVerifyRejectsForgedCertificates(t *testing.T) {
	w := newWorld(t)
	cache := w.enclave(t, "cache")
	v := w.verifier(t, true, nil, cache)
	key, _ := NewKey()

	old, err := NewCertificate(cache, key, [32]byte{1}, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := ClientConfig(ClientOptions{Verifier: v, Nonce: true})
	if cerr, _ := handshake(t, staticServer(old), cfg); !errors.Is(cerr, trust.ErrReportDataMismatch) {
		t.Fatalf("replayed certificate: %v", cerr)
	}

	// A plain self-signed certificate.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "plain"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(nil, tmpl, tmpl, &key.PublicKey, key)
	plain, _ := x509.ParseCertificate(der)
	if _, err := VerifyCertificate(v, plain, [32]byte{}); !errors.Is(err, ErrNoEvidence) {
		t.Fatalf("plain certificate: %v", err)
	}

	// Genuine evidence moved into a certificate for another key.
	otherKey, _ := NewKey()
	tmpl.ExtraExtensions = old.Leaf.Extensions[len(old.Leaf.Extensions)-1:]
	if !tmpl.ExtraExtensions[0].Id.Equal(OIDEvidence) {
		t.Fatal("test setup: evidence extension not found")
	}
	der, _ = x509.CreateCertificate(nil, tmpl, tmpl, &otherKey.PublicKey, otherKey)
	spliced, _ := x509.ParseCertificate(der)
	if _, err := VerifyCertificate(v, spliced, [32]byte{1}); !errors.Is(err, trust.ErrReportDataMismatch) {
		t.Fatalf("spliced evidence: %v", err)
	}

	none, _ := trust.NoneBackend{}.Launch(trust.LaunchSpec{})
	if _, err := NewCertificate(none, key, [32]byte{}, ""); !errors.Is(err, trust.ErrUntrusted) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	if _, err := ServerConfig(ServerOptions{Enclave: none}); !errors.Is(err, trust.ErrUntrusted) {
		t.Fatalf("untrusted server: %v", err)
	}
	if _, err := ClientConfig(ClientOptions{}); err == nil {
		t.Fatal("client without verifier")
	}
}

func TestNonceServerName(t *testing.T) {
	var n [32]byte
	for i := range n {
		n[i] = byte(i * 7)
	}
	name := NonceServerName(n)
	got, ok := ParseNonceServerName(name)
	if !ok || got != n {
		t.Fatalf("round trip of %s failed", name)
	}
	for _, bad := range []string{"", "example.com", name[1:], "zz" + name[2:], name[:32] + "x" + name[33:]} {
		if _, ok := ParseNonceServerName(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseNonceServerName(f *testing.F) {
	f.Add(NonceServerName([32]byte{1}))
	f.Add("a.ratls-nonce.invalid")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseNonceServerName(s)
		if ok {
			if back, ok2 := ParseNonceServerName(NonceServerName(n)); !ok2 || back != n {
				t.Fatalf("%q parsed to a nonce that does not round-trip", s)
			}
		}
	})
}
