package trust

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Defaults for Policy's freshness fields.
const (
	DefaultMaxAge    = 5 * time.Minute
	DefaultClockSkew = 30 * time.Second
)

// Policy says which evidence a verifier accepts.
//
// At least one of Measurements and Signers must be set. When both are set
// the evidence must satisfy both (the measurement and the signer must each
// be listed).
type Policy struct {
	Measurements []Measurement
	Signers      []Signer
	// AllowSimulated accepts evidence from the sim backend. It is off by
	// default: simulated evidence proves nothing against the host.
	AllowSimulated bool
	// SimRoots are the simulation roots that may certify sim platforms.
	// Needed only with AllowSimulated.
	SimRoots []*x509.Certificate
	// MaxAge bounds how old evidence may be (DefaultMaxAge if zero).
	MaxAge time.Duration
	// ClockSkew tolerates evidence stamped slightly in the future
	// (DefaultClockSkew if zero).
	ClockSkew time.Duration
}

// Claims are what verified evidence establishes.
type Claims struct {
	Backend     string
	Simulated   bool
	Measurement Measurement
	Signer      Signer
	IssuedAt    time.Time
}

// SignatureChecker verifies the backend-specific part of evidence: that the
// signature is genuine and the platform chains to a trusted root. A real
// TEE backend supplies one (for SEV-SNP: the VCEK chain to AMD's ARK).
type SignatureChecker interface {
	CheckSignature(ev *Evidence, now time.Time) error
}

// Verifier checks evidence against a Policy. It is safe for concurrent use.
type Verifier struct {
	policy   Policy
	checkers map[string]SignatureChecker
	now      func() time.Time
}

// VerifierOption adjusts a Verifier.
type VerifierOption func(*Verifier)

// WithClock sets the clock used for freshness (tests).
func WithClock(now func() time.Time) VerifierOption {
	return func(v *Verifier) { v.now = now }
}

// WithBackend registers a signature checker for a non-simulated backend.
func WithBackend(name string, c SignatureChecker) VerifierOption {
	return func(v *Verifier) { v.checkers[name] = c }
}

// NewVerifier returns a verifier for p. It refuses empty policies and a
// policy that allows simulation without naming any simulation root.
func NewVerifier(p Policy, opts ...VerifierOption) (*Verifier, error) {
	if len(p.Measurements) == 0 && len(p.Signers) == 0 {
		return nil, ErrEmptyPolicy
	}
	if p.AllowSimulated && len(p.SimRoots) == 0 {
		return nil, fmt.Errorf("trust: policy allows simulated evidence but names no simulation root")
	}
	if p.MaxAge <= 0 {
		p.MaxAge = DefaultMaxAge
	}
	if p.ClockSkew <= 0 {
		p.ClockSkew = DefaultClockSkew
	}
	p.Measurements = slices.Clone(p.Measurements)
	p.Signers = slices.Clone(p.Signers)
	v := &Verifier{policy: p, checkers: map[string]SignatureChecker{}, now: time.Now}
	if p.AllowSimulated {
		pool := x509.NewCertPool()
		for _, c := range p.SimRoots {
			pool.AddCert(c)
		}
		v.checkers[BackendSim] = simChecker{roots: pool, known: &chainCache{}}
	}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// VerifyBytes decodes and verifies evidence.
func (v *Verifier) VerifyBytes(raw []byte, want ReportData) (*Claims, error) {
	ev, err := UnmarshalEvidence(raw)
	if err != nil {
		return nil, err
	}
	return v.Verify(ev, want)
}

// Verify checks ev and that it binds want (the expected key and nonce).
func (v *Verifier) Verify(ev *Evidence, want ReportData) (*Claims, error) {
	if ev.Version != EvidenceVersion {
		return nil, fmt.Errorf("%w: version %d", ErrEvidenceVersion, ev.Version)
	}
	if ev.Simulated && !v.policy.AllowSimulated {
		return nil, fmt.Errorf("%w (backend %q)", ErrSimulatedRefused, ev.Backend)
	}
	checker, ok := v.checkers[ev.Backend]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownBackend, ev.Backend)
	}
	now := v.now()
	if err := checker.CheckSignature(ev, now); err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(ev.ReportData[:], want[:]) != 1 {
		return nil, ErrReportDataMismatch
	}
	if age := now.Sub(ev.IssuedAt); age > v.policy.MaxAge {
		return nil, fmt.Errorf("%w: issued %v ago, policy allows %v", ErrEvidenceExpired, age.Round(time.Millisecond), v.policy.MaxAge)
	}
	if ahead := ev.IssuedAt.Sub(now); ahead > v.policy.ClockSkew {
		return nil, fmt.Errorf("%w: %v ahead", ErrEvidenceFromFuture, ahead.Round(time.Millisecond))
	}
	if len(v.policy.Measurements) > 0 && !slices.Contains(v.policy.Measurements, ev.Measurement) {
		return nil, fmt.Errorf("%w: %s", ErrMeasurementNotAllowed, ev.Measurement)
	}
	if len(v.policy.Signers) > 0 && !slices.Contains(v.policy.Signers, ev.Signer) {
		return nil, fmt.Errorf("%w: %s", ErrSignerNotAllowed, ev.Signer)
	}
	return &Claims{
		Backend:     ev.Backend,
		Simulated:   ev.Simulated,
		Measurement: ev.Measurement,
		Signer:      ev.Signer,
		IssuedAt:    ev.IssuedAt,
	}, nil
}

// simChecker verifies sim evidence: the platform certificate chains to a
// configured simulation root and the platform key signed the evidence.
type simChecker struct {
	roots *x509.CertPool
	known *chainCache
}

func (c simChecker) CheckSignature(ev *Evidence, now time.Time) error {
	if !ev.Simulated {
		// Sim evidence must say it is simulated; a sim-signed report that
		// claims otherwise is forged or broken.
		return fmt.Errorf("%w: sim evidence not marked simulated", ErrBadSignature)
	}
	pub, err := c.platformKey(ev.PlatformCert, now)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, ev.SignedBytes(), ev.Signature) {
		return ErrBadSignature
	}
	return nil
}

// platformKey returns the platform's public key once its certificate has
// been verified against the roots. A platform signs many reports, so a
// verified chain is remembered (by the certificate's hash, with its
// validity window, which is checked again on every use).
func (c simChecker) platformKey(der []byte, now time.Time) (ed25519.PublicKey, error) {
	id := sha256.Sum256(der)
	if v, ok := c.known.get(id); ok && !now.Before(v.notBefore) && !now.After(v.notAfter) {
		return v.key, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: platform certificate: %v", ErrBadSignature, err)
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:       c.roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: platform certificate: %v", ErrBadSignature, err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: platform key is %T, want ed25519", ErrBadSignature, cert.PublicKey)
	}
	v := verifiedPlatform{key: pub, notBefore: cert.NotBefore, notAfter: cert.NotAfter}
	for _, chain := range chains {
		for _, link := range chain {
			if link.NotBefore.After(v.notBefore) {
				v.notBefore = link.NotBefore
			}
			if link.NotAfter.Before(v.notAfter) {
				v.notAfter = link.NotAfter
			}
		}
	}
	c.known.put(id, v)
	return pub, nil
}

type verifiedPlatform struct {
	key                 ed25519.PublicKey
	notBefore, notAfter time.Time // the intersection of the chain's validity
}

// chainCache remembers verified platform certificates; it is bounded and
// simply starts over when full.
type chainCache struct {
	mu sync.Mutex
	m  map[[32]byte]verifiedPlatform
}

const chainCacheSize = 256

func (c *chainCache) get(id [32]byte) (verifiedPlatform, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[id]
	return v, ok
}

func (c *chainCache) put(id [32]byte, v verifiedPlatform) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= chainCacheSize {
		c.m = map[[32]byte]verifiedPlatform{}
	}
	c.m[id] = v
}
