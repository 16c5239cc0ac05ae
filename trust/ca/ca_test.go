package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// setup is a CA served over HTTPS whose policy is p, and a client of it.
func setup(t *testing.T, p trust.Policy, clk *clock) (*Authority, *Client) {
	t.Helper()
	return setupLifetime(t, p, clk, 30*time.Minute)
}

// setupLifetime is setup with the lifetime of issued certificates.
func setupLifetime(t *testing.T, p trust.Policy, clk *clock, lifetime time.Duration) (*Authority, *Client) {
	t.Helper()
	v, err := trust.NewVerifier(p)
	if err != nil {
		t.Fatal(err)
	}
	key, cert, err := NewCAKey("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(key, cert, Options{Verifier: v, Now: clk.now, Lifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler(nil))
	if srv.TLS, err = a.TLSConfig([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL, cert)
	t.Cleanup(c.Close)
	return a, c
}

func TestIssueOnlyToAttestedInstances(t *testing.T) {
	w := testsim.New(t)
	e := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{1}})
	other := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "other"}, Signer: trust.Signer{1}})
	clk := &clock{t: time.Now()}
	a, c := setup(t, w.Policy(e), clk)
	ctx := context.Background()

	key, _ := newKey()
	cert, err := c.Obtain(ctx, e, key, []string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatalf("attested instance refused: %v", err)
	}
	// A stock verification: the chain, the name, the usage.
	pool := x509.NewCertPool()
	pool.AddCert(a.Certificate())
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost", CurrentTime: clk.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("issued certificate does not verify: %v", err)
	}
	if life := cert.Leaf.NotAfter.Sub(clk.now()); life > 31*time.Minute {
		t.Fatalf("certificate lives %v", life)
	}

	var refused *RefusedError
	if _, err := c.Obtain(ctx, other, key, []string{"localhost"}); !errors.As(err, &refused) || refused.Status != http.StatusForbidden {
		t.Fatalf("wrong measurement: %v", err)
	}

	// Sim evidence is refused unless the policy allows simulation.
	p := w.Policy(e)
	p.AllowSimulated, p.SimRoots = false, nil
	_, strict := setup(t, p, clk)
	if _, err := strict.Obtain(ctx, e, key, []string{"localhost"}); !errors.As(err, &refused) || refused.Status != http.StatusForbidden {
		t.Fatalf("sim evidence under a policy without simulation: %v", err)
	}
}

// TestStaleAndReplayedEvidence: a nonce is single use and expires; a
// request whose evidence binds another key is refused.
func TestStaleAndReplayedEvidence(t *testing.T) {
	w := testsim.New(t)
	e := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{1}})
	clk := &clock{t: time.Now()}
	a, _ := setup(t, w.Policy(e), clk)
	key, _ := newKey()
	request := func(nonce [32]byte, bindKey []byte) Request {
		t.Helper()
		csr := mustCSR(t, key)
		parsed, _ := x509.ParseCertificateRequest(csr)
		if bindKey == nil {
			bindKey = parsed.RawSubjectPublicKeyInfo
		}
		ev, err := e.Attest(ReportData(bindKey, nonce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := ev.Marshal()
		return Request{CSR: csr, Evidence: raw, Nonce: nonce}
	}
	n, _ := a.Nonce()
	req := request(n, nil)
	if _, _, err := a.Issue(req); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Issue(req); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("replayed request: %v", err)
	}
	if _, _, err := a.Issue(request([32]byte{1}, nil)); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("nonce never issued: %v", err)
	}
	n, _ = a.Nonce()
	late := request(n, nil)
	clk.add(DefaultNonceTTL + time.Second)
	if _, _, err := a.Issue(late); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("expired nonce: %v", err)
	}
	n, _ = a.Nonce()
	if _, _, err := a.Issue(request(n, []byte("another key"))); !errors.Is(err, ErrRefused) || !errors.Is(err, trust.ErrReportDataMismatch) {
		t.Fatalf("evidence for another key: %v", err)
	}
	n, _ = a.Nonce()
	bad := request(n, nil)
	bad.CSR[len(bad.CSR)-1] ^= 1
	if _, _, err := a.Issue(bad); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("tampered request: %v", err)
	}
}

// TestRenewer renews after two thirds of the lifetime, and keeps serving
// the current certificate while the CA refuses.
func TestRenewer(t *testing.T) {
	w := testsim.New(t)
	e := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{1}})
	clk := &clock{t: time.Now()}
	_, c := setup(t, w.Policy(e), clk)
	r, err := NewRenewer(context.Background(), c, e, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	r.now = clk.now
	first, _ := r.GetCertificate(nil)
	clk.add(15 * time.Minute)
	if again, _ := r.GetCertificate(nil); again != first {
		t.Fatal("renewed before two thirds of the lifetime")
	}
	clk.add(6 * time.Minute)
	second, err := r.GetCertificate(nil)
	if err != nil || second == first || second.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatalf("not renewed after two thirds: %v", err)
	}
	if !second.Leaf.PublicKey.(*ecdsa.PublicKey).Equal(first.Leaf.PublicKey) {
		t.Fatal("renewal changed the key")
	}
}

// TestRenewerShortLifetime: renewal is due two thirds of the way from
// when the certificate arrived to its expiry, not from its NotBefore,
// which the CA backdates a minute against clock skew; with a one-minute
// lifetime that would renew on every handshake after 20 s.
func TestRenewerShortLifetime(t *testing.T) {
	w := testsim.New(t)
	e := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{1}})
	clk := &clock{t: time.Now()}
	_, c := setupLifetime(t, w.Policy(e), clk, time.Minute)
	r, err := NewRenewer(context.Background(), c, e, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	r.now = clk.now
	first, _ := r.GetCertificate(nil)
	if first.Leaf.NotAfter.Sub(first.Leaf.NotBefore) <= time.Minute {
		t.Fatal("NotBefore is not backdated; this test checks nothing")
	}
	clk.add(30 * time.Second)
	if again, _ := r.GetCertificate(nil); again != first {
		t.Fatal("renewed at half the lifetime")
	}
	clk.add(15 * time.Second)
	if second, err := r.GetCertificate(nil); err != nil || second == first {
		t.Fatalf("not renewed at three quarters of the lifetime: %v", err)
	}
}

// TestNamesAllowed: with Names set, the CA issues only for those names
// (a wildcard covers one label), before looking at the evidence.
func TestNamesAllowed(t *testing.T) {
	w := testsim.New(t)
	e := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{1}})
	v, err := trust.NewVerifier(w.Policy(e))
	if err != nil {
		t.Fatal(err)
	}
	key, cert, _ := NewCAKey("names", time.Now())
	a, err := New(key, cert, Options{Verifier: v, Names: []string{"*.cache.example", "10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	tlsKey, _ := newKey()
	for name, ok := range map[string]bool{
		"a.cache.example": true, "A.Cache.Example": true, "10.0.0.1": true,
		"cache.example": false, "a.b.cache.example": false, "evil.example": false, "10.0.0.2": false,
	} {
		tmpl := &x509.CertificateRequest{}
		if ip := net.ParseIP(name); ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		} else {
			tmpl.DNSNames = []string{name}
		}
		csr, err := x509.CreateCertificateRequest(rand.Reader, tmpl, tlsKey)
		if err != nil {
			t.Fatal(err)
		}
		parsed, _ := x509.ParseCertificateRequest(csr)
		n, _ := a.Nonce()
		ev, _ := e.Attest(ReportData(parsed.RawSubjectPublicKeyInfo, n))
		raw, _ := ev.Marshal()
		_, _, err = a.Issue(Request{CSR: csr, Evidence: raw, Nonce: n})
		if ok != (err == nil) || (!ok && !errors.Is(err, ErrNameNotAllowed)) {
			t.Errorf("%s: err = %v, want allowed=%v", name, err, ok)
		}
	}
}
