package snp

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/client"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/verify"
	svtrust "github.com/google/go-sev-guest/verify/trust"

	"github.com/securecached/securecached/trust"
)

// Options configure a Backend. The zero value uses the machine's devices.
type Options struct {
	// QuoteProvider produces reports: configfs-tsm, else /dev/sev-guest
	// (client.GetQuoteProvider) by default.
	QuoteProvider client.QuoteProvider
	// Device derives sealing keys: /dev/sev-guest (client.OpenDevice),
	// opened on first use, by default.
	Device client.Device
	// Getter fetches certificates the host did not supply with the report
	// from AMD's KDS. Nil means AMD's KDS over HTTPS; tests give a fake.
	Getter svtrust.HTTPSGetter
	// CRL, if set, fetches the product's CRL (through Getter) and carries
	// it in every evidence, for verifiers whose policy checks revocation.
	// If it cannot be fetched, evidence goes without it.
	CRL bool
}

// Available reports whether this machine is an SEV-SNP guest whose kernel
// offers attestation (configfs-tsm or /dev/sev-guest).
func Available() bool {
	qp, err := client.GetQuoteProvider()
	return err == nil && qp.IsSupported()
}

// Backend launches every agent of an instance in the one confidential VM
// it runs in: they share the VM's measurement, report and sealing key.
type Backend struct {
	opts Options
	now  func() time.Time

	mu     sync.Mutex // guards device (opened once, used by one caller at a time) and cache
	device client.Device
	cache  map[string]cachedCollateral // by chip ID and reported TCB
}

// collateralTTL bounds how long fetched certificates and CRLs are reused.
const collateralTTL = time.Hour

// maxCachedChips bounds the cache; a VM sees one chip at a time, two or
// three across a live migration or a TCB update.
const maxCachedChips = 8

type cachedCollateral struct {
	col     *collateral
	fetched time.Time
}

// NewBackend returns an SNP backend. It fails if no report provider is
// available, rather than producing evidence nobody can verify.
func NewBackend(opts Options) (*Backend, error) {
	if opts.QuoteProvider == nil {
		qp, err := client.GetQuoteProvider()
		if err != nil {
			return nil, fmt.Errorf("sev-snp: %w: %v", trust.ErrNoHardware, err)
		}
		opts.QuoteProvider = qp
	}
	if opts.Getter == nil {
		opts.Getter = svtrust.DefaultHTTPSGetter()
	}
	return &Backend{opts: opts, now: time.Now, device: opts.Device, cache: map[string]cachedCollateral{}}, nil
}

// Name returns "sev-snp".
func (b *Backend) Name() string { return trust.BackendSNP }

// Launch returns the agent's view of the VM. The agent's own measurement
// (code identity and configuration) still names it, for sealing; what a
// verifier sees is the VM's launch digest.
func (b *Backend) Launch(spec trust.LaunchSpec) (trust.Enclave, error) {
	return &enclave{Identity: trust.IdentityOf(spec), b: b}, nil
}

type enclave struct {
	trust.Identity
	b *Backend
}

func (e *enclave) Backend() string { return trust.BackendSNP }
func (e *enclave) Trusted() bool   { return true }

// Attest asks the firmware for a report binding rd, with the certificate
// chain the host supplies (fetching what is missing from AMD's KDS).
func (e *enclave) Attest(rd trust.ReportData) (*trust.Evidence, error) {
	raw, err := e.b.opts.QuoteProvider.GetRawQuote(rd)
	if err != nil {
		return nil, fmt.Errorf("sev-snp report: %w", err)
	}
	att, err := abi.ReportCertsToProto(raw)
	if err != nil {
		return nil, fmt.Errorf("sev-snp report: %w", err)
	}
	product := e.b.opts.QuoteProvider.Product()
	if p := productFromCerts(att); p != nil {
		product = p
	}
	col, err := e.b.collateral(att, product)
	if err != nil {
		return nil, err
	}
	return col.evidence(raw[:abi.ReportSize], e.b.now())
}

// NewEvidence wraps a report made elsewhere (a saved one, a vendor's
// sample) in evidence, with the DER certificates that verify it and the
// CPU product ("Milan-B0") reports of version 2 do not name.
func NewEvidence(report, vcek, ask, ark []byte, product string, issued time.Time) (*trust.Evidence, error) {
	if len(report) != abi.ReportSize {
		return nil, fmt.Errorf("sev-snp report of %d bytes, want %d", len(report), abi.ReportSize)
	}
	return (&collateral{Product: product, VCEK: vcek, ASK: ask, ARK: ark}).evidence(report, issued)
}

func (c *collateral) evidence(report []byte, issued time.Time) (*trust.Evidence, error) {
	raw, err := c.marshal()
	if err != nil {
		return nil, err
	}
	return &trust.Evidence{
		Version:    trust.EvidenceVersion,
		Backend:    trust.BackendSNP,
		IssuedAt:   issued,
		Report:     report,
		Collateral: raw,
	}, nil
}

// productFromCerts reads the product from the certificate table's extra
// platform information, which newer hosts supply.
func productFromCerts(att *spb.Attestation) *spb.SevProduct {
	blob, err := abi.CertsFromProto(att.GetCertificateChain()).GetByGUIDString(abi.ExtraPlatformInfoGUID)
	if err != nil {
		return nil
	}
	info, err := abi.ParseExtraPlatformInfo(blob)
	if err != nil {
		return nil
	}
	return abi.SevProductFromCpuid1Eax(info.Cpuid1Eax)
}

// collateral completes the report's certificate chain from AMD's KDS where
// the host supplied none, and fetches the CRL if asked. What it fetched is
// reused for collateralTTL: it depends only on the chip and its TCB, and
// AMD's KDS throttles repeated requests, while evidence is made on every
// attested handshake.
func (b *Backend) collateral(att *spb.Attestation, product *spb.SevProduct) (*collateral, error) {
	key := fmt.Sprintf("%x/%x", att.GetReport().GetChipId(), att.GetReport().GetReportedTcb())
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if c, ok := b.cache[key]; ok && now.Sub(c.fetched) < collateralTTL {
		return c.col, nil
	}
	col, err := b.fetchCollateral(att, product)
	if err != nil {
		return nil, err
	}
	if len(b.cache) >= maxCachedChips {
		clear(b.cache)
	}
	b.cache[key] = cachedCollateral{col: col, fetched: now}
	return col, nil
}

func (b *Backend) fetchCollateral(att *spb.Attestation, product *spb.SevProduct) (*collateral, error) {
	chain := att.GetCertificateChain()
	if chain == nil || (len(chain.GetVcekCert()) == 0 && len(chain.GetVlekCert()) == 0) || len(chain.GetAskCert()) == 0 {
		full, err := verify.GetAttestationFromReport(att.GetReport(), &verify.Options{Getter: b.opts.Getter, Product: product})
		if err != nil {
			return nil, fmt.Errorf("sev-snp: certificate chain: %w", err)
		}
		chain = full.GetCertificateChain()
		if full.GetProduct() != nil {
			product = full.GetProduct()
		}
	}
	col := &collateral{
		VCEK: chain.GetVcekCert(), VLEK: chain.GetVlekCert(),
		ASK: chain.GetAskCert(), ARK: chain.GetArkCert(),
	}
	if product != nil {
		col.Product = kds.ProductName(product)
	}
	if b.opts.CRL {
		// Best effort: without the CRL the evidence still verifies under
		// policies that do not check revocation, and is refused by those
		// that do, which is their call, not the producer's.
		url := kds.CrlLinkByRole(kds.ProductLine(product), "ARK")
		if crl, err := b.opts.Getter.Get(url); err == nil {
			col.CRLs = map[string][]byte{url: crl}
		}
	}
	return col, nil
}

// Seal seals to the firmware's key for this VM's launch measurement and
// guest policy, mixed with the agent's own measurement. The firmware
// offers no key bound to a signer, so SealToSigner is refused.
func (e *enclave) Seal(policy trust.SealPolicy, plaintext, aad []byte) ([]byte, error) {
	if policy != trust.SealToMeasurement {
		return nil, fmt.Errorf("sev-snp seal to %s: %w (the firmware derives keys from the launch measurement, not a signer)", policy, trust.ErrSealUnsupported)
	}
	return trust.SealBlob(trust.BackendSNP, policy, plaintext, aad, e.sealKey)
}

func (e *enclave) Unseal(blob, aad []byte) ([]byte, error) {
	return trust.UnsealBlob(trust.BackendSNP, blob, aad, e.sealKey)
}

func (e *enclave) sealKey(policy trust.SealPolicy, salt []byte) ([]byte, error) {
	if policy != trust.SealToMeasurement {
		return nil, fmt.Errorf("sev-snp: %w: %s", trust.ErrSealUnsupported, policy)
	}
	secret, err := e.b.derivedKey()
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	m := e.Measurement()
	return trust.DeriveSealKey(secret, policy, m[:], salt)
}

// derivedKey asks the firmware for a key derived from the chip's VCEK
// (stable across reboots of the same VM image on the same chip, unlike the
// per-launch VMRK), the launch measurement and the guest policy: another
// image, or the same image with a weaker policy, gets another key.
func (b *Backend) derivedKey() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.device == nil {
		d, err := client.OpenDevice()
		if err != nil {
			return nil, fmt.Errorf("sev-snp: %w: sealing needs /dev/sev-guest: %v", trust.ErrNoHardware, err)
		}
		b.device = d
	}
	rsp, err := client.GetDerivedKeyAcknowledgingItsLimitations(b.device, sealKeyRequest())
	if err != nil {
		return nil, fmt.Errorf("sev-snp derived key: %w", err)
	}
	if rsp.Status != 0 {
		return nil, fmt.Errorf("sev-snp derived key: firmware status %#x", rsp.Status)
	}
	key := make([]byte, len(rsp.Data))
	copy(key, rsp.Data[:])
	clear(rsp.Data[:])
	if allZero(key) {
		return nil, errors.New("sev-snp derived key: firmware returned an all-zero key")
	}
	return key, nil
}

// sealKeyRequest is the one derived-key request sealing makes.
func sealKeyRequest() *client.SnpDerivedKeyReq {
	return &client.SnpDerivedKeyReq{
		UseVCEK:          true,
		GuestFieldSelect: client.GuestFieldSelect{Measurement: true, GuestPolicy: true},
	}
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
