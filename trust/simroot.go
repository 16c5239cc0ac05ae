package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// simRootName marks every simulation certificate so that nobody mistakes
// it for a hardware vendor's root.
const simRootName = "Diggi SIMULATION root - no hardware root of trust"

// SimRoot is the software certificate authority that stands in, under the
// sim backend, for a hardware vendor's attestation root (AMD's ARK, Intel's
// provisioning root). It issues platform certificates. Whoever holds its
// private key can mint evidence for any measurement: it protects against
// nothing but accidents and is only for development and tests.
type SimRoot struct {
	key  ed25519.PrivateKey
	cert *x509.Certificate
}

// NewSimRoot creates a fresh simulation root.
func NewSimRoot() (*SimRoot, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate sim root key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: simRootName, Organization: []string{"Diggi simulation"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, fmt.Errorf("create sim root certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse sim root certificate: %w", err)
	}
	return &SimRoot{key: key, cert: cert}, nil
}

// Certificate returns the root certificate that verifiers configure in
// Policy.SimRoots.
func (r *SimRoot) Certificate() *x509.Certificate { return r.cert }

// issuePlatform certifies a platform public key.
func (r *SimRoot) issuePlatform(pub ed25519.PublicKey, name string) ([]byte, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Diggi SIMULATED platform " + name, Organization: []string{"Diggi simulation"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.cert, pub, r.key)
	if err != nil {
		return nil, fmt.Errorf("issue platform certificate: %w", err)
	}
	return der, nil
}

// MarshalPEM encodes the root's key and certificate for storage.
func (r *SimRoot) MarshalPEM() ([]byte, error) {
	k, err := x509.MarshalPKCS8PrivateKey(r.key)
	if err != nil {
		return nil, fmt.Errorf("marshal sim root key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.cert.Raw})...), nil
}

// ParseSimRootPEM decodes what MarshalPEM wrote.
func ParseSimRootPEM(data []byte) (*SimRoot, error) {
	blocks := pemBlocks(data)
	keyDER, certDER := blocks["PRIVATE KEY"], blocks["CERTIFICATE"]
	if keyDER == nil || certDER == nil {
		return nil, fmt.Errorf("%w: sim root needs a PRIVATE KEY and a CERTIFICATE block", ErrPlatform)
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("%w: sim root key: %v", ErrPlatform, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: sim root key is %T, want ed25519", ErrPlatform, k)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("%w: sim root certificate: %v", ErrPlatform, err)
	}
	if !key.Public().(ed25519.PublicKey).Equal(cert.PublicKey) || !cert.IsCA {
		return nil, fmt.Errorf("%w: sim root key does not match its CA certificate", ErrPlatform)
	}
	return &SimRoot{key: key, cert: cert}, nil
}

// ParseCertificatesPEM decodes every CERTIFICATE block, for loading
// verifier roots (Policy.SimRoots) from a file that holds no private key.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE block", ErrPlatform)
	}
	return certs, nil
}

// pemBlocks maps block type to the first block of that type.
func pemBlocks(data []byte) map[string][]byte {
	m := map[string][]byte{}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return m
		}
		if _, dup := m[b.Type]; !dup {
			m[b.Type] = b.Bytes
		}
	}
}

func randomSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}
