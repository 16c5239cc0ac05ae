package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/securecached/securecached/trust"
)

// Defaults of Options.
const (
	DefaultLifetime = time.Hour
	DefaultNonceTTL = time.Minute
	// maxNonces bounds outstanding nonces: each costs memory until used
	// or expired, and anyone who reaches the CA may ask for one.
	maxNonces = 4096
)

// Errors Issue returns (wrapped).
var (
	// ErrStaleNonce means the request's nonce was never issued, is used
	// up or has expired: stale or replayed evidence.
	ErrStaleNonce = errors.New("ca: unknown, used or expired nonce (stale evidence)")
	// ErrBadRequest means the certificate request is malformed.
	ErrBadRequest = errors.New("ca: bad certificate request")
	// ErrRefused means the evidence did not satisfy the CA's policy.
	ErrRefused = errors.New("ca: attestation refused")
	// ErrBusy means too many nonces are outstanding.
	ErrBusy = errors.New("ca: too many outstanding nonces")
)

// OIDAttestation identifies the extension in issued certificates that
// records what the CA verified (backend and measurement), for auditors.
// Like ratls.OIDEvidence it lies in an arc we have not registered.
var OIDAttestation = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 4242, 2}

// Options configure an Authority.
type Options struct {
	// Verifier is the policy evidence must satisfy. Required.
	Verifier *trust.Verifier
	// Lifetime of issued certificates (DefaultLifetime if zero).
	Lifetime time.Duration
	// NonceTTL is how long a nonce may wait for its request.
	NonceTTL time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	// Names, if set, are the only DNS names and IP addresses certificates
	// may be issued for: exact names, or "*.example.com" for any name
	// under example.com. Without it any name is issued: every instance
	// that passes the policy may claim any name, which is the policy's
	// meaning only if the measured code fixes its names.
	Names []string
}

// ErrNameNotAllowed means a request names a host the CA may not issue for.
var ErrNameNotAllowed = errors.New("ca: name not allowed")

// allowed reports whether the CA may issue for name.
func (a *Authority) allowed(name string) bool {
	if len(a.opts.Names) == 0 {
		return true
	}
	name = strings.ToLower(name)
	for _, n := range a.opts.Names {
		n = strings.ToLower(n)
		if suffix, ok := strings.CutPrefix(n, "*."); ok {
			if strings.HasSuffix(name, "."+suffix) && !strings.Contains(strings.TrimSuffix(name, "."+suffix), ".") {
				return true
			}
		} else if name == n {
			return true
		}
	}
	return false
}

// Authority issues certificates to attested instances. Safe for
// concurrent use.
type Authority struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	opts Options

	mu     sync.Mutex
	nonces map[[32]byte]time.Time // outstanding nonce -> expiry
}

// NewCAKey creates a CA key and its self-signed certificate.
func NewCAKey(name string, now time.Time) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "SecureCached attestation CA " + name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: certificate: %w", err)
	}
	return key, cert, nil
}

// New returns an authority signing with key under cert.
func New(key *ecdsa.PrivateKey, cert *x509.Certificate, opts Options) (*Authority, error) {
	if opts.Verifier == nil {
		return nil, errors.New("ca: a verifier (the policy) is required")
	}
	if !cert.IsCA || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("ca: key does not match a CA certificate")
	}
	if opts.Lifetime <= 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.NonceTTL <= 0 {
		opts.NonceTTL = DefaultNonceTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Authority{key: key, cert: cert, opts: opts, nonces: map[[32]byte]time.Time{}}, nil
}

// Certificate is the CA certificate clients trust.
func (a *Authority) Certificate() *x509.Certificate { return a.cert }

// Nonce returns a fresh single-use nonce for one request.
func (a *Authority) Nonce() ([32]byte, error) {
	var n [32]byte
	if _, err := rand.Read(n[:]); err != nil {
		return n, fmt.Errorf("ca: nonce: %w", err)
	}
	now := a.opts.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.nonces) >= maxNonces {
		for k, exp := range a.nonces {
			if now.After(exp) {
				delete(a.nonces, k)
			}
		}
		if len(a.nonces) >= maxNonces {
			return n, ErrBusy
		}
	}
	a.nonces[n] = now.Add(a.opts.NonceTTL)
	return n, nil
}

// takeNonce consumes n: a nonce is good for one request, granted or not.
func (a *Authority) takeNonce(n [32]byte) error {
	a.mu.Lock()
	exp, ok := a.nonces[n]
	delete(a.nonces, n)
	a.mu.Unlock()
	if !ok || a.opts.Now().After(exp) {
		return ErrStaleNonce
	}
	return nil
}

// Request is what an instance sends: a PKCS #10 certificate request for
// its key and names, evidence binding that key and the nonce, the nonce.
type Request struct {
	CSR      []byte
	Evidence []byte
	Nonce    [32]byte
}

// ReportData is what evidence for a request must bind: the request's
// public key (SubjectPublicKeyInfo) and the nonce.
func ReportData(spki []byte, nonce [32]byte) trust.ReportData {
	return trust.BindKey(trust.PurposeCA, spki, nonce)
}

// Issue verifies req and, if its evidence satisfies the policy, returns
// a certificate (DER) for the request's key and names, with the claims
// that earned it.
func (a *Authority) Issue(req Request) ([]byte, *trust.Claims, error) {
	if err := a.takeNonce(req.Nonce); err != nil {
		return nil, nil, err
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, fmt.Errorf("%w: request not signed by its key: %v", ErrBadRequest, err)
	}
	if len(csr.DNSNames) == 0 && len(csr.IPAddresses) == 0 {
		return nil, nil, fmt.Errorf("%w: request names no DNS name or IP address", ErrBadRequest)
	}
	for _, n := range csr.DNSNames {
		if !a.allowed(n) {
			return nil, nil, fmt.Errorf("%w: %q", ErrNameNotAllowed, n)
		}
	}
	for _, ip := range csr.IPAddresses {
		if !a.allowed(ip.String()) {
			return nil, nil, fmt.Errorf("%w: %s", ErrNameNotAllowed, ip)
		}
	}
	claims, err := a.opts.Verifier.VerifyBytes(req.Evidence, ReportData(csr.RawSubjectPublicKeyInfo, req.Nonce))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	der, err := a.sign(csr.PublicKey, csr.Subject.CommonName, csr.DNSNames, csr.IPAddresses, claims)
	if err != nil {
		return nil, nil, err
	}
	return der, claims, nil
}

// ServerCertificate issues the CA's own HTTPS certificate for names: the
// CA vouches for itself, no evidence needed.
func (a *Authority) ServerCertificate(key *ecdsa.PrivateKey, names []string) ([]byte, error) {
	var dns []string
	var ips []net.IP
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, n)
		}
	}
	return a.sign(&key.PublicKey, "SecureCached attestation CA service", dns, ips, nil)
}

func (a *Authority) sign(pub any, cn string, dns []string, ips []net.IP, claims *trust.Claims) ([]byte, error) {
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	now := a.opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(a.opts.Lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	if claims != nil {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: OIDAttestation, Value: []byte(summary(claims))}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("ca: sign: %w", err)
	}
	return der, nil
}

// summary is what the CA records in a certificate about its evidence.
func summary(c *trust.Claims) string {
	s := "backend=" + c.Backend
	if c.Hardware != nil {
		return s + " measurement=" + hex.EncodeToString(c.Hardware.Measurement) + " tcb=" + c.Hardware.TCB
	}
	return fmt.Sprintf("%s simulated=%v measurement=%s signer=%s", s, c.Simulated, c.Measurement, c.Signer)
}

func serialNumber() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("ca: serial: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}

// TLSConfig is the CA service's own TLS configuration: a fresh key with
// a certificate the CA issues itself for names.
func (a *Authority) TLSConfig(names []string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: service key: %w", err)
	}
	der, err := a.ServerCertificate(key, names)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key}},
	}, nil
}
