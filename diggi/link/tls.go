package link

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// ALPN protocol names: the link itself, and a membership stream (the
// cluster package's gossip push/pull) on the same listener and policy.
const (
	ProtoLink   = "diggi-link/1"
	ProtoGossip = "diggi-gossip/1"
)

// ErrRefused marks a peer whose certificate the cluster policy refuses.
var ErrRefused = errors.New("link: peer refused by the cluster policy")

// Trust is the cluster's admission policy and this instance's identity.
type Trust struct {
	// Enclave attests this instance: its evidence goes into the link
	// certificate, bound to the TLS key. Nil or untrusted makes this an
	// untrusted instance, whose certificate carries no evidence.
	Enclave trust.Enclave
	// Verifier is what a peer's evidence must satisfy (measurements,
	// signers, and whether simulated evidence counts). Nil admits no
	// attested peer.
	Verifier *trust.Verifier
	// AdmitUntrusted admits peers whose certificate carries no evidence
	// (an instance running only untrusted agents, such as a gateway on an
	// ordinary host). Their agents may never be trusted.
	AdmitUntrusted bool
}

// certRenew is how long one link certificate is presented before fresh
// evidence is made: half the default evidence age a verifier accepts.
const certRenew = trust.DefaultMaxAge / 2

// tlsConfigs builds the server and client configurations. Both sides
// present a certificate and both verify the other's with Trust.admit, so
// the TLS handshake itself is the admission check.
type tlsConfigs struct {
	t   Trust
	key *ecdsa.PrivateKey

	mu     sync.Mutex
	cert   *tls.Certificate
	issued time.Time
}

func newTLSConfigs(t Trust) (*tlsConfigs, error) {
	key, err := ratls.NewKey()
	if err != nil {
		return nil, err
	}
	c := &tlsConfigs{t: t, key: key}
	if _, err := c.current(); err != nil {
		return nil, err
	}
	return c, nil
}

// current returns the certificate to present, renewing it when its
// evidence is getting old.
func (c *tlsConfigs) current() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert != nil && time.Since(c.issued) < certRenew {
		return c.cert, nil
	}
	var cert tls.Certificate
	var err error
	if c.t.Enclave != nil && c.t.Enclave.Trusted() {
		cert, err = ratls.NewCertificate(c.t.Enclave, c.key, [32]byte{}, "")
	} else {
		cert, err = plainCertificate(c.key)
	}
	if err != nil {
		return nil, fmt.Errorf("link certificate: %w", err)
	}
	c.cert, c.issued = &cert, time.Now()
	return c.cert, nil
}

// admit is the cluster policy applied to a peer's leaf certificate: its
// evidence must satisfy the verifier, or it must carry none and the policy
// must admit untrusted instances. It reports whether the peer is attested.
func (t Trust) admit(cs tls.ConnectionState) (attested bool, err error) {
	if len(cs.PeerCertificates) == 0 {
		return false, fmt.Errorf("%w: %w", ErrRefused, ratls.ErrNoPeerCert)
	}
	cert := cs.PeerCertificates[0]
	if !hasEvidence(cert) {
		if t.AdmitUntrusted {
			return false, nil
		}
		return false, fmt.Errorf("%w: %w and untrusted instances are not admitted", ErrRefused, ratls.ErrNoEvidence)
	}
	if t.Verifier == nil {
		return false, fmt.Errorf("%w: no policy for attested peers", ErrRefused)
	}
	if _, err := ratls.VerifyCertificate(t.Verifier, cert, [32]byte{}); err != nil {
		return false, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return true, nil
}

func hasEvidence(cert *x509.Certificate) bool {
	for _, e := range cert.Extensions {
		if e.Id.Equal(ratls.OIDEvidence) {
			return true
		}
	}
	return false
}

// Attested reports whether a connection's peer presented evidence (which
// the handshake has verified: an unverifiable peer never gets this far).
func Attested(cs tls.ConnectionState) bool {
	return len(cs.PeerCertificates) > 0 && hasEvidence(cs.PeerCertificates[0])
}

func (c *tlsConfigs) server() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		NextProtos:       []string{ProtoLink, ProtoGossip},
		ClientAuth:       tls.RequireAnyClientCert,
		GetCertificate:   func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.current() },
		VerifyConnection: func(cs tls.ConnectionState) error { _, err := c.t.admit(cs); return err },
	}
}

func (c *tlsConfigs) client(proto string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{proto},
		// Chain verification is replaced, not skipped: there is no CA, and
		// VerifyConnection checks the peer's evidence on every handshake.
		InsecureSkipVerify:   true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.current() },
		VerifyConnection:     func(cs tls.ConnectionState) error { _, err := c.t.admit(cs); return err },
	}
}

// plainCertificate is an untrusted instance's self-signed certificate: the
// TLS handshake still proves it holds the key, but it attests nothing.
func plainCertificate(key *ecdsa.PrivateKey) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Diggi untrusted instance"},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
