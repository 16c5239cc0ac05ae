package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ServerName is the DNS name the certificate is issued for; clients set it
// as tls.Config.ServerName, or leave it empty and dial a loopback address
// (the certificate names 127.0.0.1 and ::1 too).
const ServerName = "localhost"

// Files is a self-signed ECDSA P-256 server certificate for ServerName and
// the loopback addresses, and its key, as PEM files in a test's temporary directory.
type Files struct {
	Cert, Key string         // paths: the certificate, the EC private key
	Pool      *x509.CertPool // trusts exactly this certificate
}

// Write creates the certificate, valid from an hour ago for a day, in the
// test's temporary directory, and fails the test if it cannot.
func Write(t testing.TB) Files {
	t.Helper()
	f, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// New creates the certificate, valid from an hour ago for a day, in dir.
func New(dir string) (Files, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Files{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "securecached test"},
		DNSNames: []string{ServerName}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Files{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Files{}, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Files{}, err
	}
	f := Files{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), Pool: x509.NewCertPool()}
	if err := os.WriteFile(f.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return Files{}, err
	}
	if err := os.WriteFile(f.Key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return Files{}, err
	}
	f.Pool.AddCert(cert)
	return f, nil
}

// Flags are memcached's command-line flags serving TLS with these files.
func (f Files) Flags() []string {
	return []string{"-Z", "-o", "ssl_chain_cert=" + f.Cert + ",ssl_key=" + f.Key}
}
