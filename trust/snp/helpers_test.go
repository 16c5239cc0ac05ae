package snp

import (
	"encoding/binary"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	labi "github.com/google/go-sev-guest/client/linuxabi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	test "github.com/google/go-sev-guest/testing"
	svtrust "github.com/google/go-sev-guest/verify/trust"

	"github.com/securecached/securecached/trust"
)

// fixedNow is the clock of every fake-signer test: the fake chain is
// created an hour before it.
var fixedNow = time.Date(2026, time.January, 2, 3, 4, 5, 0, time.UTC)

// guest is what the fake firmware puts in its reports.
type guest struct {
	measurement Measurement
	debug       bool
	tcb         TCB
	vmpl        uint32
}

// fakeQuoteProvider is go-sev-guest's fake configfs-tsm quote provider
// (reports signed by its test-only VCEK) answering any report data: it
// programs the fake's response for the report data asked for, with the
// measurement, guest policy and TCB of g, then lets the fake sign it.
type fakeQuoteProvider struct {
	mu    sync.Mutex // the fake's response map is not safe for concurrent use
	inner *test.QuoteProvider
	g     guest
}

func newFakeQuoteProvider(t testing.TB, signer *test.AmdSigner, g guest) *fakeQuoteProvider {
	t.Helper()
	qp, err := test.TcQuoteProvider(nil, &test.DeviceOptions{Now: fixedNow, Signer: signer, Product: abi.DefaultSevProduct()})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeQuoteProvider{inner: qp, g: g}
}

func (p *fakeQuoteProvider) IsSupported() bool        { return true }
func (p *fakeQuoteProvider) Product() *spb.SevProduct { return p.inner.Product() }

func (p *fakeQuoteProvider) GetRawQuote(rd [64]byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	raw := test.CreateRawReport(&test.TestReportOptions{ReportData: rd[:]})
	pol := abi.SnpPolicyToBytes(abi.SnpPolicy{SMT: true, Debug: p.g.debug})
	binary.LittleEndian.PutUint64(raw[0x08:], pol)
	copy(raw[0x90:0xC0], p.g.measurement[:])
	binary.LittleEndian.PutUint32(raw[0x30:], p.g.vmpl)
	tcb, err := kds.ComposeTCBParts(kds.TCBParts{BlSpl: p.g.tcb.Bootloader, TeeSpl: p.g.tcb.TEE, SnpSpl: p.g.tcb.SNP, UcodeSpl: p.g.tcb.Microcode})
	if err != nil {
		return nil, err
	}
	binary.LittleEndian.PutUint64(raw[0x38:], uint64(tcb))
	binary.LittleEndian.PutUint64(raw[0x180:], uint64(tcb))
	binary.LittleEndian.PutUint64(raw[0x1E0:], uint64(tcb))
	p.inner.Device.ReportDataRsp[hex.EncodeToString(rd[:])] = &test.GetReportResponse{
		Resp: labi.SnpReportRespABI{Data: raw},
	}
	return p.inner.GetRawQuote(rd)
}

// fakeChip is one fake machine: go-sev-guest's test-only AMD chain.
type fakeChip struct {
	signer *test.AmdSigner
}

func newFakeChip(t testing.TB) *fakeChip {
	t.Helper()
	s, err := test.DefaultTestOnlyCertChain(test.GetProductName(), fixedNow.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &fakeChip{signer: s}
}

// roots trusts the fake chain's ARK and ASK instead of AMD's.
func (c *fakeChip) roots() map[string][]*svtrust.AMDRootCerts {
	line := test.GetProductLine()
	return map[string][]*svtrust.AMDRootCerts{line: {{
		Product:      line,
		ProductLine:  line,
		ProductCerts: &svtrust.ProductCerts{Ark: c.signer.Ark, Ask: c.signer.Ask, Asvk: c.signer.Asvk},
	}}}
}

func (c *fakeChip) backend(t testing.TB, g guest, opts Options) *Backend {
	t.Helper()
	opts.QuoteProvider = newFakeQuoteProvider(t, c.signer, g)
	if opts.Getter == nil {
		kds, err := test.FakeKDSFromSigner(c.signer)
		if err != nil {
			t.Fatal(err)
		}
		opts.Getter = kds
	}
	b, err := NewBackend(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifier accepts SNP evidence under p (with the fake roots unless p
// names others), at the fixed clock.
func (c *fakeChip) verifier(t testing.TB, p Policy, now time.Time) *trust.Verifier {
	t.Helper()
	if p.Roots == nil {
		p.Roots = c.roots()
	}
	chk, err := NewChecker(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := trust.NewVerifier(trust.Policy{}, trust.WithBackend(trust.BackendSNP, chk), trust.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustMeasurement(t testing.TB, s string) Measurement {
	t.Helper()
	m, err := ParseMeasurement(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
