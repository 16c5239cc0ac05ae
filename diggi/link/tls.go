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
	// CA, if set, puts the links on certificates of an attestation-gated
	// CA (trust/ca) instead of RA-TLS: see CA.
	CA *CA
}

// CA is the link configuration for certificates that an attestation-gated
// CA issued. This instance presents its CA-issued certificate, and a peer
// whose certificate chains to Roots is admitted as attested when the
// certificate names the instance the peer says it is (checked against its
// hello). The admission policy is then the CA's: the CA verified the
// peer's evidence under its policy when it issued the certificate, and
// the chain stands for that check. Peers that present RA-TLS evidence are
// still admitted by Trust.Verifier, so a cluster can move to the CA one
// instance at a time.
type CA struct {
	// Roots holds the CA's certificate.
	Roots *x509.CertPool
	// Certificate returns this instance's current certificate, issued for
	// its instance name (a ca.Renewer's, which renews it before it
	// expires). It is asked on every handshake.
	Certificate func() (*tls.Certificate, error)
}

// admission is how a peer was admitted.
type admission int

const (
	admittedUntrusted admission = iota // no evidence, AdmitUntrusted
	admittedEvidence                   // RA-TLS evidence under Verifier
	admittedCA                         // a CA-issued certificate
)

func (a admission) attested() bool { return a != admittedUntrusted }

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
	if c.t.CA != nil {
		cert, err := c.t.CA.Certificate()
		if err != nil {
			return nil, fmt.Errorf("link certificate from the CA: %w", err)
		}
		return cert, nil
	}
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

// admit is the cluster policy applied to a peer's certificates: RA-TLS
// evidence in the leaf must satisfy the verifier; failing that, a chain to
// the CA's root (with Trust.CA) admits it as attested, pending the name
// check against its hello (checkName); failing that, the policy must admit
// untrusted instances.
func (t Trust) admit(cs tls.ConnectionState) (admission, error) {
	if len(cs.PeerCertificates) == 0 {
		return 0, fmt.Errorf("%w: %w", ErrRefused, ratls.ErrNoPeerCert)
	}
	cert := cs.PeerCertificates[0]
	if hasEvidence(cert) {
		if t.Verifier == nil {
			return 0, fmt.Errorf("%w: no policy for attested peers", ErrRefused)
		}
		if _, err := ratls.VerifyCertificate(t.Verifier, cert, [32]byte{}); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		return admittedEvidence, nil
	}
	var caErr error
	if t.CA != nil {
		if caErr = t.verifyChain(cs.PeerCertificates); caErr == nil {
			return admittedCA, nil
		}
	}
	if t.AdmitUntrusted {
		return admittedUntrusted, nil
	}
	if caErr != nil {
		return 0, fmt.Errorf("%w: no evidence, and not issued by the cluster's CA: %w", ErrRefused, caErr)
	}
	return 0, fmt.Errorf("%w: %w and untrusted instances are not admitted", ErrRefused, ratls.ErrNoEvidence)
}

// verifyChain checks that a peer's certificates chain to the CA's root,
// now, for a TLS client or server.
func (t Trust) verifyChain(certs []*x509.Certificate) error {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots: t.CA.Roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	return err
}

// checkName holds a CA-admitted peer to its certificate: the instance its
// hello names must be a name the CA issued the certificate for. Without
// it any instance that passed the CA's policy could speak as any other.
func checkName(how admission, cs tls.ConnectionState, instance string) error {
	if how != admittedCA {
		return nil
	}
	if err := cs.PeerCertificates[0].VerifyHostname(instance); err != nil {
		return fmt.Errorf("%w: instance %q: %w", ErrRefused, instance, err)
	}
	return nil
}

func hasEvidence(cert *x509.Certificate) bool {
	for _, e := range cert.Extensions {
		if e.Id.Equal(ratls.OIDEvidence) {
			return true
		}
	}
	return false
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
		// Chain verification is replaced, not skipped: VerifyConnection
		// checks the peer's evidence, or its chain to the cluster's CA, on
		// every handshake (the CA's certificates name instances, not the
		// addresses dialled).
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
