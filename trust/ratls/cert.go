package ratls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/securecached/securecached/trust"
)

// OIDEvidence identifies the certificate extension holding marshalled
// trust.Evidence. It lies in an arc we have not registered: replace it with
// one under a registered enterprise number before third-party verifiers
// rely on it (our own verifier only ever looks for this value).
var OIDEvidence = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 4242, 1}

// Errors a verifier returns.
var (
	ErrNoEvidence = errors.New("ratls: certificate carries no evidence")
	ErrNoPeerCert = errors.New("ratls: peer presented no certificate")
)

// certLifetime bounds a certificate's validity; evidence freshness is
// enforced separately by the verifier's policy.
const certLifetime = 24 * time.Hour

// NewCertificate creates a TLS certificate for key whose evidence, produced
// by enclave, binds the certificate's public key and nonce (zero when the
// peer supplied none).
func NewCertificate(enclave trust.Enclave, key *ecdsa.PrivateKey, nonce [32]byte, serverName string) (tls.Certificate, error) {
	if enclave == nil || !enclave.Trusted() {
		return tls.Certificate{}, fmt.Errorf("ratls: certificate: %w", trust.ErrUntrusted)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ratls: marshal public key: %w", err)
	}
	ev, err := enclave.Attest(trust.BindKey(trust.PurposeRATLS, spki, nonce))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ratls: attest: %w", err)
	}
	raw, err := ev.Marshal()
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ratls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ratls: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: "Diggi attested agent " + enclave.Measurement().String()[:16]},
		NotBefore:       now.Add(-time.Minute),
		NotAfter:        now.Add(certLifetime),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		ExtraExtensions: []pkix.Extension{{Id: OIDEvidence, Value: raw}},
	}
	if serverName != "" {
		tmpl.DNSNames = []string{serverName}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ratls: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("ratls: parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// NewKey generates a TLS key inside the agent.
func NewKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ratls: generate key: %w", err)
	}
	return k, nil
}

// VerifyCertificate checks that cert carries evidence satisfying v and
// binding cert's public key and nonce. It does not check that the peer
// holds the key: the TLS handshake does that.
func VerifyCertificate(v *trust.Verifier, cert *x509.Certificate, nonce [32]byte) (*trust.Claims, error) {
	var raw []byte
	for _, e := range cert.Extensions {
		if e.Id.Equal(OIDEvidence) {
			raw = e.Value
			break
		}
	}
	if raw == nil {
		return nil, ErrNoEvidence
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, fmt.Errorf("ratls: certificate self-signature: %w", err)
	}
	claims, err := v.VerifyBytes(raw, trust.BindKey(trust.PurposeRATLS, cert.RawSubjectPublicKeyInfo, nonce))
	if err != nil {
		return nil, fmt.Errorf("ratls: %w", err)
	}
	return claims, nil
}
