package ca

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/securecached/securecached/trust/ratls"
)

func newKey() (*ecdsa.PrivateKey, error) { return ratls.NewKey() }

func mustCSR(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}, DNSNames: []string{"localhost"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
