package snp

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/verify"
	svtrust "github.com/google/go-sev-guest/verify/trust"

	"github.com/securecached/securecached/trust"
)

// ErrVMPL means a report was requested from a less privileged VM
// privilege level than the policy accepts: by software the guest's own
// kernel does not control, which may put any report data in it.
var ErrVMPL = errors.New("sev-snp: report from a VMPL the policy does not accept")

// Measurement is an SNP launch digest (SHA-384 over the VM's initial
// memory and state, as the firmware measured it).
type Measurement [48]byte

// ParseMeasurement decodes 96 hex digits.
func ParseMeasurement(s string) (Measurement, error) {
	var m Measurement
	if len(s) != 2*len(m) {
		return m, fmt.Errorf("sev-snp measurement %q: want %d hex digits", s, 2*len(m))
	}
	if _, err := hex.Decode(m[:], []byte(s)); err != nil {
		return m, fmt.Errorf("sev-snp measurement %q: %w", s, err)
	}
	return m, nil
}

// TCB is the platform's security patch levels as the report states them
// (REPORTED_TCB): each component's SVN.
type TCB struct {
	Bootloader, TEE, SNP, Microcode uint8
}

func (t TCB) String() string {
	return fmt.Sprintf("bootloader=%d tee=%d snp=%d microcode=%d", t.Bootloader, t.TEE, t.SNP, t.Microcode)
}

// ParseTCB decodes "bootloader:tee:snp:microcode", four decimal SVNs.
func ParseTCB(s string) (TCB, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 {
		return TCB{}, fmt.Errorf("sev-snp TCB %q: want bootloader:tee:snp:microcode", s)
	}
	var v [4]uint8
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return TCB{}, fmt.Errorf("sev-snp TCB %q: %w", s, err)
		}
		v[i] = uint8(n)
	}
	return TCB{Bootloader: v[0], TEE: v[1], SNP: v[2], Microcode: v[3]}, nil
}

// atLeast reports whether every component of t is at least min's.
func (t TCB) atLeast(min TCB) bool {
	return t.Bootloader >= min.Bootloader && t.TEE >= min.TEE && t.SNP >= min.SNP && t.Microcode >= min.Microcode
}

func tcbOf(v uint64) TCB {
	p := kds.DecomposeTCBVersion(kds.TCBVersion(v))
	return TCB{Bootloader: p.BlSpl, TEE: p.TeeSpl, SNP: p.SnpSpl, Microcode: p.UcodeSpl}
}

// Policy is what an SNP report must satisfy. A debuggable guest is always
// refused: there is no setting for it.
type Policy struct {
	// Measurements are the allowed launch digests. Required.
	Measurements []Measurement
	// MinTCB is the oldest platform TCB accepted, component by component.
	MinTCB TCB
	// Roots are the AMD roots (ARK and ASK) to trust, by product line
	// ("Milan"). Nil means AMD's published roots as go-sev-guest embeds
	// them; tests give the fake roots of go-sev-guest's test signer.
	Roots map[string][]*svtrust.AMDRootCerts
	// CheckRevocation requires the evidence to carry the product's
	// ARK-signed CRL and refuses a revoked ASK.
	CheckRevocation bool
	// MaxVMPL is the least privileged VM privilege level whose reports
	// are accepted. Zero, the default, accepts only reports the guest's
	// most privileged software requested; a guest behind a paravisor runs
	// at a higher level.
	MaxVMPL uint32
}

// Checker verifies SNP evidence under a Policy; register it with
// trust.WithBackend(trust.BackendSNP, c). Safe for concurrent use.
type Checker struct {
	p Policy
}

// NewChecker returns a checker for p. A policy without a measurement is
// refused: it would accept any VM.
func NewChecker(p Policy) (*Checker, error) {
	if len(p.Measurements) == 0 {
		return nil, fmt.Errorf("sev-snp policy: %w", trust.ErrEmptyPolicy)
	}
	p.Measurements = slices.Clone(p.Measurements)
	return &Checker{p: p}, nil
}

// Check verifies ev and derives its claims from the signed report.
func (c *Checker) Check(ev *trust.Evidence, now time.Time) (*trust.Attested, error) {
	report, checked, err := c.verifyReport(ev, now)
	if err != nil {
		return nil, err
	}
	a, err := derive(report)
	if err != nil {
		return nil, err
	}
	more, err := c.policy(report, a.Hardware)
	if err != nil {
		return nil, err
	}
	a.Checked = append(checked, more...)
	return a, nil
}

// verifyReport checks that ev's report is genuine: signed by an
// endorsement key that chains to the trusted AMD roots, valid now, and,
// if the policy asks, not revoked.
func (c *Checker) verifyReport(ev *trust.Evidence, now time.Time) (*spb.Report, []string, error) {
	if ev.Backend != trust.BackendSNP {
		return nil, nil, fmt.Errorf("%w: %q evidence given to the sev-snp checker", trust.ErrUnknownBackend, ev.Backend)
	}
	if err := trust.CheckHardwareEnvelope(ev); err != nil {
		return nil, nil, err
	}
	if len(ev.Report) != abi.ReportSize {
		return nil, nil, fmt.Errorf("%w: sev-snp report of %d bytes, want %d", trust.ErrEvidenceMalformed, len(ev.Report), abi.ReportSize)
	}
	report, err := abi.ReportToProto(ev.Report)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: sev-snp report: %v", trust.ErrEvidenceMalformed, err)
	}
	col, err := parseCollateral(ev.Collateral)
	if err != nil {
		return nil, nil, err
	}
	att := &spb.Attestation{
		Report: report,
		CertificateChain: &spb.CertificateChain{
			VcekCert: col.VCEK, VlekCert: col.VLEK, AskCert: col.ASK, ArkCert: col.ARK,
		},
	}
	opts := &verify.Options{
		DisableCertFetching: true,
		Now:                 now,
		TrustedRoots:        c.p.Roots,
		Getter:              crlGetter(col.CRLs),
	}
	if col.Product != "" {
		info, err := abi.ParseSignerInfo(report.GetSignerInfo())
		if err != nil {
			return nil, nil, fmt.Errorf("%w: sev-snp signer info: %v", trust.ErrEvidenceMalformed, err)
		}
		if opts.Product, err = kds.ParseProductName(col.Product, info.SigningKey); err != nil {
			return nil, nil, fmt.Errorf("%w: sev-snp product: %v", trust.ErrEvidenceMalformed, err)
		}
		att.Product = opts.Product
	}
	var checked []string
	ek, err := endorsementKey(col, report)
	if err != nil {
		return nil, nil, err
	}
	// Expiry is checked first so that it is reported as what it is; the
	// library would report it as an unverifiable chain.
	if now.Before(ek.NotBefore) || now.After(ek.NotAfter) {
		return nil, nil, fmt.Errorf("%w: sev-snp endorsement key certificate valid %s to %s, now %s",
			trust.ErrCollateral, ek.NotBefore.Format(time.RFC3339), ek.NotAfter.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if err := verify.SnpAttestation(att, opts); err != nil {
		return nil, nil, fmt.Errorf("%w: sev-snp: %v", trust.ErrBadSignature, err)
	}
	checked = append(checked,
		"sev-snp: endorsement key certificate chains to the AMD root of trust ("+rootName(c.p.Roots)+")",
		"sev-snp: report signature by the endorsement key")
	if c.p.CheckRevocation {
		if err := c.checkRevocation(att, opts, ek); err != nil {
			return nil, nil, err
		}
		checked = append(checked, "sev-snp: ARK-signed CRL does not revoke the ASK")
	}
	return report, checked, nil
}

// derive reads the claims out of a verified report.
func derive(report *spb.Report) (*trust.Attested, error) {
	guest, err := abi.ParseSnpPolicy(report.GetPolicy())
	if err != nil {
		return nil, fmt.Errorf("%w: sev-snp guest policy: %v", trust.ErrEvidenceMalformed, err)
	}
	a := &trust.Attested{Hardware: &trust.HardwareClaims{
		Measurement: slices.Clone(report.GetMeasurement()),
		TCB:         tcbOf(report.GetReportedTcb()).String(),
		Debug:       guest.Debug,
		Platform:    fmt.Sprintf("chip %x, vmpl %d", report.GetChipId(), report.GetVmpl()),
	}}
	copy(a.ReportData[:], report.GetReportData())
	return a, nil
}

// policy checks what a verified report says against the policy.
func (c *Checker) policy(report *spb.Report, hw *trust.HardwareClaims) ([]string, error) {
	if hw.Debug {
		return nil, fmt.Errorf("%w: sev-snp guest policy allows debugging", trust.ErrDebugNotAllowed)
	}
	checked := []string{"sev-snp: guest policy forbids debugging"}
	if vmpl := report.GetVmpl(); vmpl > c.p.MaxVMPL {
		return nil, fmt.Errorf("%w: requested at VMPL %d, policy allows at most %d", ErrVMPL, vmpl, c.p.MaxVMPL)
	}
	checked = append(checked, fmt.Sprintf("sev-snp: requested at VMPL %d, at most %d", report.GetVmpl(), c.p.MaxVMPL))
	var m Measurement
	copy(m[:], report.GetMeasurement())
	if !slices.Contains(c.p.Measurements, m) {
		return nil, fmt.Errorf("%w: sev-snp launch digest %x", trust.ErrMeasurementNotAllowed, m[:])
	}
	checked = append(checked, fmt.Sprintf("sev-snp: launch digest %x allowed by policy", m[:]))
	tcb := tcbOf(report.GetReportedTcb())
	if !tcb.atLeast(c.p.MinTCB) {
		return nil, fmt.Errorf("%w: sev-snp reported TCB %s, policy minimum %s", trust.ErrTCBBelowMinimum, tcb, c.p.MinTCB)
	}
	return append(checked, fmt.Sprintf("sev-snp: reported TCB %s at least %s", tcb, c.p.MinTCB)), nil
}

// endorsementKey returns the certificate of the key that signed report.
func endorsementKey(col *collateral, report *spb.Report) (*x509.Certificate, error) {
	info, err := abi.ParseSignerInfo(report.GetSignerInfo())
	if err != nil {
		return nil, fmt.Errorf("%w: sev-snp signer info: %v", trust.ErrEvidenceMalformed, err)
	}
	der := col.VCEK
	if info.SigningKey == abi.VlekReportSigner {
		der = col.VLEK
	}
	if len(der) == 0 {
		return nil, fmt.Errorf("%w: sev-snp evidence lacks the %v certificate", trust.ErrCollateral, info.SigningKey)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: sev-snp %v certificate: %v", trust.ErrCollateral, info.SigningKey, err)
	}
	return cert, nil
}

// checkRevocation checks the CRL of the root whose ASK certified ek.
func (c *Checker) checkRevocation(att *spb.Attestation, opts *verify.Options, ek *x509.Certificate) error {
	line := kds.ProductLine(att.GetProduct())
	if fms := att.GetReport().GetCpuid1EaxFms(); fms != 0 {
		line = kds.ProductLineFromFms(fms)
	}
	roots := c.p.Roots[line]
	if c.p.Roots == nil {
		r, err := svtrust.GetDefaultRootCerts(line)
		if err != nil {
			return fmt.Errorf("%w: sev-snp roots for %q: %v", trust.ErrCollateral, line, err)
		}
		roots = []*svtrust.AMDRootCerts{r}
	}
	for _, r := range roots {
		if r.ProductCerts == nil || r.ProductCerts.Ask == nil || ek.CheckSignatureFrom(r.ProductCerts.Ask) != nil {
			continue
		}
		if err := verify.VcekNotRevoked(r, ek, opts); err != nil {
			return fmt.Errorf("%w: sev-snp revocation: %v", trust.ErrCollateral, err)
		}
		return nil
	}
	return fmt.Errorf("%w: no trusted %s ASK certified the endorsement key", trust.ErrCollateral, line)
}

func rootName(roots map[string][]*svtrust.AMDRootCerts) string {
	if roots == nil {
		return "AMD's published ARK"
	}
	return "the policy's roots"
}
