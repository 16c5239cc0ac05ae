package ca

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
)

// BenchmarkCAIssue is one issuance at the CA, without HTTP: a nonce, the
// verification of sim evidence for a request, the signature.
func BenchmarkCAIssue(b *testing.B) {
	w := testsim.New(b)
	e := w.Launch(b, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{1}})
	v, err := trust.NewVerifier(w.Policy(e))
	if err != nil {
		b.Fatal(err)
	}
	key, cert, _ := NewCAKey("bench", time.Now())
	a, err := New(key, cert, Options{Verifier: v})
	if err != nil {
		b.Fatal(err)
	}
	tlsKey, _ := newKey()
	csr := mustCSR(b, tlsKey)
	parsed, _ := x509.ParseCertificateRequest(csr)
	b.ReportAllocs()
	for b.Loop() {
		n, err := a.Nonce()
		if err != nil {
			b.Fatal(err)
		}
		ev, err := e.Attest(ReportData(parsed.RawSubjectPublicKeyInfo, n))
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := ev.Marshal()
		if _, _, err := a.Issue(Request{CSR: csr, Evidence: raw, Nonce: n}); err != nil {
			b.Fatal(err)
		}
	}
}
