package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ca"
)

// startCA serves an attestation-gated CA whose policy accepts
// securecached's signer on the sim platforms of simRoot, and writes its
// certificate to a PEM file.
func startCA(t *testing.T, simRoot *x509.Certificate) (url, certFile string) {
	t.Helper()
	v, err := trust.NewVerifier(trust.Policy{Signers: []trust.Signer{Signer()}, AllowSimulated: true, SimRoots: []*x509.Certificate{simRoot}})
	if err != nil {
		t.Fatal(err)
	}
	key, cert, err := ca.NewCAKey("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ca.New(key, cert, ca.Options{Verifier: v, Lifetime: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler(nil))
	if srv.TLS, err = a.TLSConfig([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	certFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv.URL, certFile
}

// TestCAIssuedCertificateStockClients runs the whole flow: the trusted
// cache agent attests its TLS key to the CA, serves the certificate it
// gets on its -Z listener, and stock clients (gomemcache over crypto/tls,
// openssl s_client) verify it with nothing but the CA's certificate. An
// instance the CA's policy does not accept gets no certificate and does
// not start.
func TestCAIssuedCertificateStockClients(t *testing.T) {
	dir := t.TempDir()
	root, err := trust.LoadOrCreateSimRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	url, caFile := startCA(t, root.Certificate())
	l := testLayout(dir, true, true)
	l.Trust.CA = &CAOptions{URL: url, Cert: caFile, Names: []string{"localhost", "127.0.0.1"}}
	d := start(t, l, Options{})
	addr := d.Addrs()[0].String()

	data, _ := os.ReadFile(caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(data)
	mc := memcache.New(addr)
	mc.Timeout = 10 * time.Second
	mc.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
		d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: "localhost"}}
		return d.DialContext(ctx, network, address)
	}
	if err := mc.Set(&memcache.Item{Key: "k", Value: []byte("attested")}); err != nil {
		t.Fatalf("gomemcache over TLS with the CA's certificate: %v", err)
	}
	it, err := mc.Get("k")
	if err != nil || string(it.Value) != "attested" {
		t.Fatalf("get: %v", err)
	}
	mc.Close()

	// A client that trusts another CA refuses the server.
	_, otherCA := startCA(t, root.Certificate())
	other, _ := os.ReadFile(otherCA)
	otherPool := x509.NewCertPool()
	otherPool.AppendCertsFromPEM(other)
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: otherPool, ServerName: "localhost"}); err == nil {
		c.Close()
		t.Fatal("a client trusting another CA accepted the server")
	}

	openssl := testenv.Require(t, "openssl")
	sClient := func(caFile string) (string, error) {
		cmd := exec.Command(openssl, "s_client", "-connect", addr, "-servername", "localhost",
			"-verify_hostname", "localhost", "-CAfile", caFile, "-verify_return_error", "-brief")
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sClient(caFile); err != nil || !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl s_client with the CA's certificate: %v\n%s", err, out)
	}
	if out, err := sClient(otherCA); err == nil {
		t.Fatalf("openssl s_client accepted the server under another CA:\n%s", out)
	}

	// Another sim platform, not under the CA's policy: no certificate,
	// no start.
	dir2 := t.TempDir()
	l2 := testLayout(dir2, true, true)
	l2.Trust.CA = l.Trust.CA
	if d2, err := Start(l2, Options{}); err == nil {
		d2.Shutdown()
		<-d2.Done()
		t.Fatal("an instance the CA's policy refuses started")
	} else {
		var refused *ca.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("refused instance: %v, want the CA's refusal", err)
		}
	}
}
