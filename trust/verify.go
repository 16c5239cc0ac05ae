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
// Measurements and Signers name agents, which only sim evidence does. At
// least one of them must be set unless a hardware backend's checker is
// registered (WithBackend), which brings its own policy. When both are set
// sim evidence must satisfy both (the measurement and the signer must each
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
	Measurement Measurement // sim only: the agent's measurement
	Signer      Signer      // sim only
	IssuedAt    time.Time   // signed for sim; the producer's word for hardware
	// Hardware is set for vendor-signed evidence: what the vendor's report
	// says, derived by the backend's checker.
	Hardware *HardwareClaims
	// Checked lists, in order, what the verifier checked, for people.
	Checked []string
}

// HardwareClaims are what a vendor-signed report establishes about the
// confidential VM that produced it. Every field is derived from the signed
// report, never from the evidence envelope.
type HardwareClaims struct {
	// Measurement is the launch measurement: SNP's launch digest, TDX's
	// MRTD (48 bytes each).
	Measurement []byte
	// RTMRs are TDX's runtime measurement registers (empty for SNP).
	RTMRs [][]byte
	// TCB names the trusted computing base's security versions as the
	// vendor reports them (for people; policies compare the numbers).
	TCB string
	// Debug is whether the host may decrypt or step the guest.
	Debug bool
	// Platform identifies the machine: SNP's chip ID, TDX's FMSPC.
	Platform string
}

// Attested is what a Checker establishes from evidence it has verified:
// the report data and identity to hold against the caller's expectation
// and the policy. Exactly one of (Measurement, Signer) and Hardware is
// meaningful: sim evidence names an agent, hardware evidence a VM.
type Attested struct {
	ReportData  ReportData
	Measurement Measurement
	Signer      Signer
	Hardware    *HardwareClaims
	Checked     []string
}

// Checker verifies the backend-specific part of evidence: that the report
// is genuine (signed by a key that chains to a trusted root) and, for
// hardware, that the report satisfies the hardware policy the checker was
// built with (launch measurement, minimum TCB, no debug). It returns the
// claims it derived from what it verified; the Verifier then checks the
// report data and, for sim, the agent policy.
type Checker interface {
	Check(ev *Evidence, now time.Time) (*Attested, error)
}

// Verifier checks evidence against a Policy. It is safe for concurrent use.
type Verifier struct {
	policy   Policy
	checkers map[string]Checker
	hardware bool // a hardware checker is registered
	now      func() time.Time
}

// VerifierOption adjusts a Verifier.
type VerifierOption func(*Verifier)

// WithClock sets the clock used for freshness (tests).
func WithClock(now func() time.Time) VerifierOption {
	return func(v *Verifier) { v.now = now }
}

// WithBackend registers the checker of a hardware backend ("sev-snp",
// "tdx"). The checker carries that backend's policy; evidence from it is
// accepted only if the checker accepts it, whatever Policy lists for sim.
func WithBackend(name string, c Checker) VerifierOption {
	return func(v *Verifier) {
		v.checkers[name] = c
		if name != BackendSim {
			v.hardware = true
		}
	}
}

// NewVerifier returns a verifier for p. It refuses a policy that accepts
// nothing (no measurement, no signer and no hardware backend) and a policy
// that allows simulation without naming any simulation root.
func NewVerifier(p Policy, opts ...VerifierOption) (*Verifier, error) {
	if p.MaxAge <= 0 {
		p.MaxAge = DefaultMaxAge
	}
	if p.ClockSkew <= 0 {
		p.ClockSkew = DefaultClockSkew
	}
	p.Measurements = slices.Clone(p.Measurements)
	p.Signers = slices.Clone(p.Signers)
	v := &Verifier{policy: p, checkers: map[string]Checker{}, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	if len(p.Measurements) == 0 && len(p.Signers) == 0 && !v.hardware {
		return nil, ErrEmptyPolicy
	}
	if p.AllowSimulated && len(p.SimRoots) == 0 {
		return nil, fmt.Errorf("trust: policy allows simulated evidence but names no simulation root")
	}
	if p.AllowSimulated {
		pool := x509.NewCertPool()
		for _, c := range p.SimRoots {
			pool.AddCert(c)
		}
		v.checkers[BackendSim] = simChecker{roots: pool, known: &chainCache{}}
	} else {
		// A sim checker can only come from the policy: simulated evidence
		// is accepted when, and only when, the policy says so.
		delete(v.checkers, BackendSim)
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
	c, _, err := v.verify(ev, &want)
	return c, err
}

// Inspect checks ev like Verify but for its binding, and returns the
// verified report data for the caller to judge: for offline inspection of
// saved evidence, where the key and nonce it should bind may be unknown.
// Evidence accepted by Inspect alone proves nothing about freshness.
func (v *Verifier) Inspect(ev *Evidence) (*Claims, ReportData, error) {
	return v.verify(ev, nil)
}

func (v *Verifier) verify(ev *Evidence, want *ReportData) (*Claims, ReportData, error) {
	if ev.Version != EvidenceVersion {
		return nil, ReportData{}, fmt.Errorf("%w: version %d", ErrEvidenceVersion, ev.Version)
	}
	if ev.Simulated && !v.policy.AllowSimulated {
		return nil, ReportData{}, fmt.Errorf("%w (backend %q)", ErrSimulatedRefused, ev.Backend)
	}
	checker, ok := v.checkers[ev.Backend]
	if !ok {
		return nil, ReportData{}, fmt.Errorf("%w: %q", ErrUnknownBackend, ev.Backend)
	}
	now := v.now()
	a, err := checker.Check(ev, now)
	if err != nil {
		return nil, ReportData{}, err
	}
	// The report data compared is the one the checker verified: for
	// hardware it comes out of the vendor-signed report.
	checked := slices.Clone(a.Checked)
	if want != nil {
		if subtle.ConstantTimeCompare(a.ReportData[:], want[:]) != 1 {
			return nil, ReportData{}, ErrReportDataMismatch
		}
		checked = append(checked, "report data binds the expected key and nonce")
	}
	if a.Hardware == nil {
		// Only sim evidence carries a signed time; hardware evidence is
		// fresh when it binds the verifier's nonce.
		if age := now.Sub(ev.IssuedAt); age > v.policy.MaxAge {
			return nil, ReportData{}, fmt.Errorf("%w: issued %v ago, policy allows %v", ErrEvidenceExpired, age.Round(time.Millisecond), v.policy.MaxAge)
		}
		if ahead := ev.IssuedAt.Sub(now); ahead > v.policy.ClockSkew {
			return nil, ReportData{}, fmt.Errorf("%w: %v ahead", ErrEvidenceFromFuture, ahead.Round(time.Millisecond))
		}
		checked = append(checked, fmt.Sprintf("issued %v ago, within %v", now.Sub(ev.IssuedAt).Round(time.Millisecond), v.policy.MaxAge))
		if len(v.policy.Measurements) == 0 && len(v.policy.Signers) == 0 {
			return nil, ReportData{}, ErrEmptyPolicy
		}
		if len(v.policy.Measurements) > 0 && !slices.Contains(v.policy.Measurements, a.Measurement) {
			return nil, ReportData{}, fmt.Errorf("%w: %s", ErrMeasurementNotAllowed, a.Measurement)
		}
		if len(v.policy.Signers) > 0 && !slices.Contains(v.policy.Signers, a.Signer) {
			return nil, ReportData{}, fmt.Errorf("%w: %s", ErrSignerNotAllowed, a.Signer)
		}
		checked = append(checked, "agent measurement and signer allowed by policy")
	}
	return &Claims{
		Backend:     ev.Backend,
		Simulated:   ev.Simulated,
		Measurement: a.Measurement,
		Signer:      a.Signer,
		IssuedAt:    ev.IssuedAt,
		Hardware:    a.Hardware,
		Checked:     checked,
	}, a.ReportData, nil
}

// CheckHardwareEnvelope refuses hardware evidence whose envelope claims an
// identity, report data or signature of its own, or says it is simulated:
// for hardware those come only from the vendor-signed report, and an
// envelope that says otherwise is forged or broken.
func CheckHardwareEnvelope(ev *Evidence) error {
	switch {
	case ev.Simulated:
		return fmt.Errorf("%w: %s evidence marked simulated", ErrEvidenceMalformed, ev.Backend)
	case ev.Measurement != Measurement{} || ev.Signer != Signer{} || ev.ReportData != ReportData{}:
		return fmt.Errorf("%w: %s envelope claims an identity or report data of its own", ErrEvidenceMalformed, ev.Backend)
	case len(ev.PlatformCert) != 0 || len(ev.Signature) != 0:
		return fmt.Errorf("%w: %s envelope carries a sim platform signature", ErrEvidenceMalformed, ev.Backend)
	case len(ev.Report) == 0:
		return fmt.Errorf("%w: %s evidence without a vendor report", ErrEvidenceMalformed, ev.Backend)
	}
	return nil
}

// simChecker verifies sim evidence: the platform certificate chains to a
// configured simulation root and the platform key signed the evidence.
type simChecker struct {
	roots *x509.CertPool
	known *chainCache
}

func (c simChecker) Check(ev *Evidence, now time.Time) (*Attested, error) {
	if !ev.Simulated {
		// Sim evidence must say it is simulated; a sim-signed report that
		// claims otherwise is forged or broken.
		return nil, fmt.Errorf("%w: sim evidence not marked simulated", ErrBadSignature)
	}
	if len(ev.Report) != 0 || len(ev.Collateral) != 0 {
		return nil, fmt.Errorf("%w: sim evidence carries a vendor report", ErrEvidenceMalformed)
	}
	pub, err := c.platformKey(ev.PlatformCert, now)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(pub, ev.SignedBytes(), ev.Signature) {
		return nil, ErrBadSignature
	}
	return &Attested{
		ReportData:  ev.ReportData,
		Measurement: ev.Measurement,
		Signer:      ev.Signer,
		Checked: []string{
			"SIMULATED: platform certificate chains to a configured simulation root (no hardware root of trust)",
			"platform key signed the evidence",
		},
	}, nil
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
