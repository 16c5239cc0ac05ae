package tdx

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-tdx-guest/pcs"
	pb "github.com/google/go-tdx-guest/proto/tdx"
	"github.com/google/go-tdx-guest/verify"

	"github.com/securecached/securecached/trust"
)

// Measurement is what a TD's quote says it runs: MRTD (the initial TD
// memory, i.e. the virtual firmware) and the four runtime measurement
// registers (RTMR0 firmware configuration, RTMR1 kernel, RTMR2 kernel
// command line and initrd, RTMR3 for the guest's own use).
type Measurement struct {
	MRTD [48]byte
	RTMR [4][48]byte
}

// ParseMeasurement decodes "MRTD:RTMR0:RTMR1:RTMR2:RTMR3", each 96 hex
// digits.
func ParseMeasurement(s string) (Measurement, error) {
	var m Measurement
	parts := strings.Split(s, ":")
	if len(parts) != 5 {
		return m, fmt.Errorf("tdx measurement: want MRTD:RTMR0:RTMR1:RTMR2:RTMR3, got %d fields", len(parts))
	}
	dst := [][]byte{m.MRTD[:], m.RTMR[0][:], m.RTMR[1][:], m.RTMR[2][:], m.RTMR[3][:]}
	for i, p := range parts {
		if len(p) != 96 {
			return m, fmt.Errorf("tdx measurement field %d: want 96 hex digits, got %d", i, len(p))
		}
		if _, err := hex.Decode(dst[i], []byte(p)); err != nil {
			return m, fmt.Errorf("tdx measurement field %d: %w", i, err)
		}
	}
	return m, nil
}

func (m Measurement) String() string {
	s := hex.EncodeToString(m.MRTD[:])
	for _, r := range m.RTMR {
		s += ":" + hex.EncodeToString(r[:])
	}
	return s
}

// TCB is the TEE TCB SVN of the quote: the TDX module's and its
// components' security versions.
type TCB [16]byte

// ParseTCB decodes 32 hex digits.
func ParseTCB(s string) (TCB, error) {
	var t TCB
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(t) {
		return t, fmt.Errorf("tdx TCB %q: want %d hex digits", s, 2*len(t))
	}
	copy(t[:], b)
	return t, nil
}

func (t TCB) atLeast(min TCB) bool {
	for i := range t {
		if t[i] < min[i] {
			return false
		}
	}
	return true
}

// tdAttributesDebug is bit 0 of TDATTRIBUTES: the host may read and
// write the TD's state.
const tdAttributesDebug = 1

// Policy is what a TDX quote must satisfy. A debuggable TD is always
// refused: there is no setting for it.
type Policy struct {
	// Measurements are the allowed MRTD and RTMR sets. Required.
	Measurements []Measurement
	// MinTCB is the oldest TEE TCB SVN accepted, component by component.
	MinTCB TCB
	// Roots is the Intel SGX root to trust. Nil means Intel's
	// (IntelRoots).
	Roots *x509.CertPool
	// SkipCollateral verifies the quote and its PCK chain only, without
	// Intel's TCB information, QE identity and CRLs. Off by default: the
	// collateral is what says whether the platform's TCB is up to date
	// and whether its PCK certificate is revoked.
	SkipCollateral bool
}

// Checker verifies TDX evidence under a Policy; register it with
// trust.WithBackend(trust.BackendTDX, c). Safe for concurrent use.
type Checker struct {
	p Policy
}

// NewChecker returns a checker for p. A policy without a measurement is
// refused: it would accept any TD.
func NewChecker(p Policy) (*Checker, error) {
	if len(p.Measurements) == 0 {
		return nil, fmt.Errorf("tdx policy: %w", trust.ErrEmptyPolicy)
	}
	p.Measurements = slices.Clone(p.Measurements)
	if p.Roots == nil {
		p.Roots = IntelRoots()
	} else {
		p.Roots = p.Roots.Clone()
	}
	return &Checker{p: p}, nil
}

// Check verifies ev and derives its claims from the signed quote.
func (c *Checker) Check(ev *trust.Evidence, now time.Time) (*trust.Attested, error) {
	if ev.Backend != trust.BackendTDX {
		return nil, fmt.Errorf("%w: %q evidence given to the tdx checker", trust.ErrUnknownBackend, ev.Backend)
	}
	if err := trust.CheckHardwareEnvelope(ev); err != nil {
		return nil, err
	}
	quote, err := parseQuote(ev.Report)
	if err != nil {
		return nil, err
	}
	col, err := parseCollateral(ev.Collateral)
	if err != nil {
		return nil, err
	}
	// Expiry first so that it is reported as what it is; the library
	// would report it as an unverifiable chain.
	if err := chainCurrent(quote, now); err != nil {
		return nil, err
	}
	// The quote and its PCK chain, without collateral, so that a forged
	// or tampered quote is reported as such.
	if err := verifyQuote(quote, &verify.Options{Now: now, TrustedRoots: c.p.Roots}); err != nil {
		return nil, fmt.Errorf("%w: tdx: %v", trust.ErrBadSignature, err)
	}
	checked := []string{
		"tdx: PCK certificate chains to the policy's Intel SGX root",
		"tdx: quoting enclave report signed by the PCK key, quote signed by the attestation key",
	}
	if c.p.SkipCollateral {
		checked = append(checked, "tdx: collateral NOT checked (policy): TCB status and revocation unknown")
	} else {
		opts := &verify.Options{Now: now, TrustedRoots: c.p.Roots, GetCollateral: true, CheckRevocations: true, Getter: col}
		if err := verifyQuote(quote, opts); err != nil {
			return nil, classifyCollateral(err)
		}
		checked = append(checked, "tdx: Intel-signed TCB info, QE identity and CRLs current; TCB up to date; PCK not revoked")
	}
	body := quote.GetTdQuoteBody()
	hw := &trust.HardwareClaims{
		Measurement: slices.Clone(body.GetMrTd()),
		TCB:         "tee_tcb_svn=" + hex.EncodeToString(body.GetTeeTcbSvn()),
		Debug:       len(body.GetTdAttributes()) > 0 && body.GetTdAttributes()[0]&tdAttributesDebug != 0,
		Platform:    platform(quote),
	}
	for _, r := range body.GetRtmrs() {
		hw.RTMRs = append(hw.RTMRs, slices.Clone(r))
	}
	more, err := c.policy(body, hw)
	if err != nil {
		return nil, err
	}
	var rd trust.ReportData
	copy(rd[:], body.GetReportData())
	return &trust.Attested{ReportData: rd, Hardware: hw, Checked: append(checked, more...)}, nil
}

// policy checks what the verified quote body says against the policy.
func (c *Checker) policy(body *pb.TDQuoteBody, hw *trust.HardwareClaims) ([]string, error) {
	if hw.Debug {
		return nil, fmt.Errorf("%w: tdx TD attributes have DEBUG set", trust.ErrDebugNotAllowed)
	}
	checked := []string{"tdx: TD attributes forbid debugging"}
	var m Measurement
	copy(m.MRTD[:], body.GetMrTd())
	rtmrs := body.GetRtmrs()
	if len(rtmrs) != len(m.RTMR) {
		return nil, fmt.Errorf("%w: tdx quote has %d RTMRs", trust.ErrEvidenceMalformed, len(rtmrs))
	}
	for i := range m.RTMR {
		copy(m.RTMR[i][:], rtmrs[i])
	}
	if !slices.Contains(c.p.Measurements, m) {
		return nil, fmt.Errorf("%w: tdx MRTD and RTMRs %s", trust.ErrMeasurementNotAllowed, m)
	}
	checked = append(checked, fmt.Sprintf("tdx: MRTD %x and RTMR0-3 allowed by policy", m.MRTD[:]))
	var tcb TCB
	copy(tcb[:], body.GetTeeTcbSvn())
	if !tcb.atLeast(c.p.MinTCB) {
		return nil, fmt.Errorf("%w: tdx TEE TCB SVN %x, policy minimum %x", trust.ErrTCBBelowMinimum, tcb[:], c.p.MinTCB[:])
	}
	return append(checked, fmt.Sprintf("tdx: TEE TCB SVN %x at least %x", tcb[:], c.p.MinTCB[:])), nil
}

// classifyCollateral maps go-tdx-guest's collateral errors onto ours. The
// library formats most of its errors with %v, so only some can be matched
// with errors.Is; an out-of-date or unmatched TCB level is recognised by
// its message. Anything else is a collateral failure: a refusal either way.
func classifyCollateral(err error) error {
	msg := err.Error()
	if errors.Is(err, verify.ErrTcbStatus) || strings.Contains(msg, "TCB Status") || strings.Contains(msg, "TCB level") {
		return fmt.Errorf("%w: tdx, by Intel's TCB information: %v", trust.ErrTCBBelowMinimum, err)
	}
	return fmt.Errorf("%w: tdx: %v", trust.ErrCollateral, err)
}

// chainCurrent refuses a quote whose PCK chain is not valid at now.
func chainCurrent(quote *pb.QuoteV4, now time.Time) error {
	rest := quote.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetPckCertificateChainData().GetPckCertChain()
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return fmt.Errorf("%w: tdx PCK chain: %v", trust.ErrBadSignature, err)
		}
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return fmt.Errorf("%w: tdx PCK chain: %q valid %s to %s, now %s", trust.ErrCollateral, c.Subject.CommonName,
				c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339), now.Format(time.RFC3339))
		}
	}
}

// pckCert returns the quote's PCK certificate (the leaf of the chain the
// quote carries), or nil.
func pckCert(quote *pb.QuoteV4) *x509.Certificate {
	chain := quote.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetPckCertificateChainData().GetPckCertChain()
	b, _ := pem.Decode(chain)
	if b == nil {
		return nil
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil
	}
	return c
}

// platform names the platform by its FMSPC (family, model, stepping and
// platform type), from the verified PCK certificate.
func platform(quote *pb.QuoteV4) string {
	c := pckCert(quote)
	if c == nil {
		return ""
	}
	ext, err := pcs.PckCertificateExtensions(c)
	if err != nil {
		return ""
	}
	return "fmspc " + ext.FMSPC
}
