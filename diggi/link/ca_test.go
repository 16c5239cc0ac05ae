package link

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ca"
	"github.com/securecached/securecached/trust/ratls"
)

// testCA is an attestation-gated CA served over HTTPS, whose policy is
// the world's (sim evidence signed by testpeers.Signer).
type testCA struct {
	auth   *ca.Authority
	client *ca.Client
	roots  *x509.CertPool
}

func newTestCA(t *testing.T, w *testsim.World, lifetime time.Duration) *testCA {
	t.Helper()
	_, v := testpeers.LinkIdentity(t, w)
	key, cert, err := ca.NewCAKey("links", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := ca.New(key, cert, ca.Options{Verifier: v, Lifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(auth.Handler(testpeers.Quiet))
	if srv.TLS, err = auth.TLSConfig([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	c := ca.NewClient(srv.URL, cert)
	t.Cleanup(func() { c.Close(); srv.Close() })
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &testCA{auth: auth, client: c, roots: roots}
}

// renewer gets a certificate for name from the CA, attesting e.
func (c *testCA) renewer(t *testing.T, e trust.Enclave, name string) (*ca.Renewer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return ca.NewRenewer(ctx, c.client, e, []string{name})
}

// caNode is a node whose link presents cert and admits peers by c's root
// (and by RA-TLS evidence under the world's policy).
func caNode(t *testing.T, w *testsim.World, cfg diggi.Config, all []diggi.Config, c *testCA, cert func() (*tls.Certificate, error)) *node {
	t.Helper()
	n := &node{Instance: testpeers.Start(t, w, cfg, all...)}
	_, v := testpeers.LinkIdentity(t, w)
	var err error
	n.hub, err = New(Options{Instance: n.In, Address: "test", Logger: testpeers.Quiet,
		Trust: Trust{Verifier: v, CA: &CA{Roots: c.roots, Certificate: cert}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.hub.Close)
	return n
}

// mustCall makes one request from a/tx1 to rx (failure_test.go's call)
// and fails the test if it is not echoed.
func mustCall(t *testing.T, a *node, rx diggi.AgentID) {
	t.Helper()
	if err := call(t, a, "tx1", rx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestLinkCACertificates: two instances whose link enclaves passed the
// CA's attestation present CA-issued certificates for their instance
// names, admit each other by the chain (no RA-TLS evidence on the link),
// and carry trusted agents' traffic. Each certificate is renewed before it
// expires, on the handshake that finds it two thirds through its life, and
// the link goes on working through reconnections after the first
// certificates have expired.
func TestLinkCACertificates(t *testing.T) {
	w := testsim.New(t)
	const lifetime = 6 * time.Second
	c := newTestCA(t, w, lifetime)
	cfgA := testpeers.Config("a", []string{"tx1"}, true)
	cfgB := testpeers.Config("b", []string{"rx"}, true)
	all := []diggi.Config{cfgA, cfgB}
	ea, _ := testpeers.LinkIdentity(t, w)
	eb, _ := testpeers.LinkIdentity(t, w)
	ra, err := c.renewer(t, ea, "a")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := c.renewer(t, eb, "b")
	if err != nil {
		t.Fatal(err)
	}
	get := func(r *ca.Renewer) func() (*tls.Certificate, error) {
		return func() (*tls.Certificate, error) { return r.GetCertificate(nil) }
	}
	a := caNode(t, w, cfgA, all, c, get(ra))
	b := caNode(t, w, cfgB, all, c, get(rb))
	link(t, a, b, nil)
	rx := a.WaitAgent(t, "b/rx")
	mustCall(t, a, rx)
	pa, pb := waitPeerUp(t, a, "b"), waitPeerUp(t, b, "a")
	if !pa.Attested() || !pb.Attested() {
		t.Fatal("a CA-admitted peer is not attested")
	}
	first, _ := ra.Current()
	if hasEvidence(first.Leaf) {
		t.Fatal("the CA certificate carries RA-TLS evidence")
	}

	// Early in the lifetime a new session keeps the certificate.
	reconnect(t, a, b, pa)
	if cur, _ := ra.Current(); cur.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Fatal("renewed early in the certificate's lifetime")
	}
	// A second before expiry, past two thirds of the lifetime: the next
	// handshake renews.
	time.Sleep(time.Until(first.Leaf.NotAfter.Add(-time.Second)))
	reconnect(t, a, b, pa)
	mustCall(t, a, rx)
	renewed, err := ra.Current()
	if err != nil || renewed.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatalf("not renewed (%v)", err)
	}
	if !time.Now().Before(first.Leaf.NotAfter) {
		t.Fatal("renewed only after the first certificate expired")
	}

	// The first certificates have expired: new sessions still come up.
	time.Sleep(time.Until(first.Leaf.NotAfter.Add(100 * time.Millisecond)))
	reconnect(t, a, b, pa)
	mustCall(t, a, rx)
	for _, r := range []*ca.Renewer{ra, rb} {
		if cur, err := r.Current(); err != nil || !time.Now().Before(cur.Leaf.NotAfter) {
			t.Fatalf("serving an expired certificate (%v)", err)
		}
	}
}

// reconnect ends a's session to b and waits for the linker to bring up
// a new one (a new TLS handshake on both sides).
func reconnect(t *testing.T, a, b *node, pa *Peer) {
	t.Helper()
	sessions := pa.Stats().Sessions
	pa.Close()
	pb, _ := b.hub.Peer("a")
	testpeers.WaitUntil(t, "a new session", func() bool { return pa.Stats().Sessions > sessions && pa.Up() && pb.Up() })
}

// TestLinkCARefuses: an instance the CA refused gets no certificate, and
// what it can present instead does not link: a certificate of its own for
// the name, or one from another CA. A CA-issued certificate does not let
// an instance speak as another: its hello must name the instance the
// certificate was issued for.
func TestLinkCARefuses(t *testing.T) {
	w := testsim.New(t)
	c := newTestCA(t, w, time.Hour)
	other := newTestCA(t, w, time.Hour)
	cfgA := testpeers.Config("a", []string{"tx1"}, true)
	cfgB := testpeers.Config("b", []string{"rx"}, true)
	all := []diggi.Config{cfgA, cfgB}

	// The CA's policy wants testpeers.Signer; this enclave is signed by
	// another.
	rogue, err := w.Backend.Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "diggi-link-test"}, Signer: trust.SignerFromKey([]byte("rogue"))})
	if err != nil {
		t.Fatal(err)
	}
	var refused *ca.RefusedError
	if _, err := c.renewer(t, rogue, "a"); !errors.As(err, &refused) {
		t.Fatalf("the CA issued to a refused enclave: %v", err)
	}

	eb, _ := testpeers.LinkIdentity(t, w)
	rb, err := c.renewer(t, eb, "b")
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := testpeers.LinkIdentity(t, w)
	fromOther, err := other.renewer(t, ea, "a")
	if err != nil {
		t.Fatal(err)
	}
	wrongName, err := c.renewer(t, ea, "b") // issued for b, used by a
	if err != nil {
		t.Fatal(err)
	}
	key, err := ratls.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	selfSigned, err := plainCertificate(key)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cert func() (*tls.Certificate, error)
	}{
		{"self-signed, no evidence", func() (*tls.Certificate, error) { return &selfSigned, nil }},
		{"another CA", func() (*tls.Certificate, error) { return fromOther.GetCertificate(nil) }},
		{"issued for another instance", func() (*tls.Certificate, error) { return wrongName.GetCertificate(nil) }},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			a := caNode(t, w, cfgA, all, c, cs.cert)
			b := caNode(t, w, cfgB, all, c, func() (*tls.Certificate, error) { return rb.GetCertificate(nil) })
			link(t, a, b, nil)
			time.Sleep(300 * time.Millisecond) // a redials every 20 ms
			// b refuses before a's hello makes a peer of it.
			if _, ok := b.hub.Peer("a"); ok {
				t.Fatal("b linked with a")
			}
			if _, ok := b.In.Directory().Lookup("a/tx1"); ok {
				t.Fatal("a's agent reached b's directory")
			}
		})
	}
}
