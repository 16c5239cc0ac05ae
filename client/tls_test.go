package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "memcached test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSAgainstMemcached talks to memcached's own TLS (-Z), verifying its
// certificate, through a counting dialer: the transport is only a dialer.
func TestTLSAgainstMemcached(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	srv := testenv.StartMemcached(t, "-Z", "-o", "ssl_chain_cert="+certFile+",ssl_key="+keyFile)
	var dials atomic.Int32
	var nd net.Dialer
	c := newClient(t, Config{
		Servers: []ServerConfig{{Addr: srv.Addr}},
		TLS:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nd.DialContext(ctx, network, addr)
		},
	})
	x := ctx(t)
	if err := c.Set(x, &Item{Key: "tls", Value: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	if it, err := c.Get(x, "tls"); err != nil || string(it.Value) != "secret" {
		t.Fatalf("Get over TLS = %+v, %v", it, err)
	}
	if dials.Load() == 0 {
		t.Error("custom dialer not used")
	}
	// A client that does not trust the certificate must not get through.
	bad := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, TLS: &tls.Config{MinVersion: tls.VersionTLS12}})
	if _, err := bad.Get(x, "tls"); err == nil {
		t.Error("untrusted certificate accepted")
	}
}
