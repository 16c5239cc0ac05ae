package testcert

import (
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
	cert, key, err := issue(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "securecached test"},
		DNSNames: []string{ServerName}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, nil, nil)
	if err != nil {
		return Files{}, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Files{}, err
	}
	f := Files{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), Pool: x509.NewCertPool()}
	if err := writePEM(f.Cert, cert); err != nil {
		return Files{}, err
	}
	if err := os.WriteFile(f.Key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return Files{}, err
	}
	f.Pool.AddCert(cert)
	return f, nil
}

// CA is a throwaway certificate authority, for servers that verify client
// certificates (ssl_ca_cert): File is its certificate as a PEM file.
type CA struct {
	File string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA creates a CA named name, its certificate written in the test's
// temporary directory.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	cert, key, err := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{File: filepath.Join(t.TempDir(), name+".pem"), cert: cert, key: key}
	if err := writePEM(ca.File, cert); err != nil {
		t.Fatal(err)
	}
	return ca
}

// Client issues a client certificate (clientAuth usage) signed by the CA.
func (ca *CA) Client(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	cert, key, err := issue(&x509.Certificate{
		Subject:  pkix.Name{CommonName: cn},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}
}

// issue makes a fresh P-256 key and a certificate from tmpl for it, valid
// from an hour ago for a day, signed by parent (self-signed when nil).
func issue(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = big.NewInt(now.UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func writePEM(path string, cert *x509.Certificate) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600)
}

// Flags are memcached's command-line flags serving TLS with these files.
func (f Files) Flags() []string {
	return []string{"-Z", "-o", "ssl_chain_cert=" + f.Cert + ",ssl_key=" + f.Key}
}
