package snp

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ca"
	"github.com/securecached/securecached/trust/ratls"
)

// TestCAIssuesToSNPInstance: the CA issues a certificate to an instance
// whose SNP evidence (fake device and signer) binds the request's key and
// the CA's nonce, and refuses one with another launch digest.
func TestCAIssuesToSNPInstance(t *testing.T) {
	chip := newFakeChip(t)
	good := guest{measurement: Measurement{0x11}}
	key, cert, err := ca.NewCAKey("snp", fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	authority, err := ca.New(key, cert, ca.Options{
		Verifier: chip.verifier(t, Policy{Measurements: []Measurement{good.measurement}}, fixedNow),
		Now:      func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []guest{good, {measurement: Measurement{0x22}}} {
		e, _ := chip.backend(t, g, Options{}).Launch(trust.LaunchSpec{})
		tlsKey, _ := ratls.NewKey()
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"cache.example"}}, tlsKey)
		if err != nil {
			t.Fatal(err)
		}
		parsed, _ := x509.ParseCertificateRequest(csr)
		nonce, err := authority.Nonce()
		if err != nil {
			t.Fatal(err)
		}
		ev, err := e.Attest(ca.ReportData(parsed.RawSubjectPublicKeyInfo, nonce))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := ev.Marshal()
		der, claims, err := authority.Issue(ca.Request{CSR: csr, Evidence: raw, Nonce: nonce})
		if g == good {
			if err != nil || claims.Hardware == nil || len(der) == 0 {
				t.Fatalf("good SNP instance refused: %v", err)
			}
		} else if !errors.Is(err, ca.ErrRefused) || !errors.Is(err, trust.ErrMeasurementNotAllowed) {
			t.Fatalf("wrong launch digest: %v", err)
		}
	}
}
