package snp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	test "github.com/google/go-sev-guest/testing"
	"github.com/google/go-sev-guest/verify/testdata"
	svtrust "github.com/google/go-sev-guest/verify/trust"

	"github.com/securecached/securecached/trust"
)

// The real report go-sev-guest ships (verify/testdata/attestation.bin): a
// Milan guest's report, signed by that chip's VCEK (vcek.testcer), which
// AMD's KDS issued under the Milan ASK and ARK go-sev-guest embeds.
const (
	sampleMeasurement = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"
	sampleProduct     = "Milan-B0"
)

// sampleTime lies inside the sample VCEK's validity (to 2029-09-24).
var sampleTime = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// sampleEvidence wraps AMD's real report and certificates in our envelope.
func sampleEvidence(t *testing.T) *trust.Evidence {
	t.Helper()
	pc := &svtrust.ProductCerts{}
	if err := pc.FromKDSCertBytes(svtrust.AskArkMilanVcekBytes); err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvidence(bytes.Clone(testdata.AttestationBytes), testdata.VcekBytes, pc.Ask.Raw, pc.Ark.Raw, sampleProduct, sampleTime)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestRealSampleReport runs AMD's real report through the checker with
// AMD's real roots, offline, at a fixed clock. The VCEK chain and the
// signature verify; the verdict is still a refusal, because the sample
// guest was launched with debugging allowed, which no policy accepts. A
// tampered report, an expired VCEK and a foreign chain fail earlier.
func TestRealSampleReport(t *testing.T) {
	m := mustMeasurement(t, sampleMeasurement)
	chk, err := NewChecker(Policy{Measurements: []Measurement{m}})
	if err != nil {
		t.Fatal(err)
	}
	report, checked, err := chk.verifyReport(sampleEvidence(t), sampleTime)
	if err != nil || len(checked) != 2 {
		t.Fatalf("AMD's sample report does not verify against AMD's roots: %v", err)
	}
	// What the verified report says, as the checker derives it.
	a, err := derive(report)
	if err != nil {
		t.Fatal(err)
	}
	wantRD := trust.ReportData{1, 2, 3, 4, 5}
	if h := a.Hardware; !bytes.Equal(h.Measurement, m[:]) || a.ReportData != wantRD ||
		h.TCB != "bootloader=2 tee=0 snp=5 microcode=68" || !h.Debug || !strings.HasPrefix(h.Platform, "chip 3ac3fe21e13fb099") {
		t.Fatalf("derived from the sample: report data %x, %+v", a.ReportData, h)
	}
	_, err = chk.Check(sampleEvidence(t), sampleTime)
	if !errors.Is(err, trust.ErrDebugNotAllowed) {
		t.Fatalf("real sample: %v, want the debug refusal that follows a good signature", err)
	}

	tampered := sampleEvidence(t)
	tampered.Report[0x90] ^= 1 // one bit of the launch digest
	if _, err := chk.Check(tampered, sampleTime); !errors.Is(err, trust.ErrBadSignature) {
		t.Errorf("tampered report: %v, want ErrBadSignature", err)
	}
	if _, err := chk.Check(sampleEvidence(t), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, trust.ErrCollateral) {
		t.Errorf("after the VCEK expired: %v, want ErrCollateral", err)
	}
	// The same report checked against another chain's roots.
	fake := newFakeChip(t)
	chk2, err := NewChecker(Policy{Measurements: []Measurement{m}, Roots: fake.roots()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chk2.Check(sampleEvidence(t), sampleTime); !errors.Is(err, trust.ErrBadSignature) {
		t.Errorf("AMD-signed report against fake roots: %v, want ErrBadSignature", err)
	}
}

// TestFakeSignerEvidence produces evidence through go-sev-guest's fake
// device and signer and verifies it end to end, then each refusal.
func TestFakeSignerEvidence(t *testing.T) {
	chip := newFakeChip(t)
	good := guest{measurement: Measurement{1, 2, 3}, tcb: TCB{Bootloader: 3, TEE: 0, SNP: 8, Microcode: 115}}
	policy := Policy{Measurements: []Measurement{good.measurement}, MinTCB: TCB{Bootloader: 3, SNP: 8, Microcode: 115}}
	nonce := [32]byte{9}
	want := trust.BindKey(trust.PurposeRATLS, []byte("tls key"), nonce)
	attest := func(g guest) *trust.Evidence {
		t.Helper()
		e, err := chip.backend(t, g, Options{}).Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := e.Attest(want)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if ev, err = trust.UnmarshalEvidence(raw); err != nil {
			t.Fatal(err)
		}
		return ev
	}

	claims, err := chip.verifier(t, policy, fixedNow).Verify(attest(good), want)
	if err != nil {
		t.Fatalf("good evidence refused: %v", err)
	}
	if claims.Hardware == nil || !bytes.Equal(claims.Hardware.Measurement, good.measurement[:]) || claims.Hardware.Debug || claims.Simulated {
		t.Fatalf("claims not derived from the report: %+v", claims)
	}
	if claims.Measurement != (trust.Measurement{}) {
		t.Fatal("hardware claims name an agent measurement")
	}

	other := good
	other.measurement = Measurement{4}
	debug := good
	debug.debug = true
	old := good
	old.tcb.SNP = 7
	lowPrivilege := good
	lowPrivilege.vmpl = 2
	cases := []struct {
		name   string
		ev     *trust.Evidence
		want   trust.ReportData
		policy Policy
		now    time.Time
		err    error
	}{
		{"wrong measurement", attest(other), want, policy, fixedNow, trust.ErrMeasurementNotAllowed},
		{"wrong report data", attest(good), trust.BindKey(trust.PurposeRATLS, []byte("tls key"), [32]byte{8}), policy, fixedNow, trust.ErrReportDataMismatch},
		{"debug policy", attest(debug), want, policy, fixedNow, trust.ErrDebugNotAllowed},
		{"TCB below minimum", attest(old), want, policy, fixedNow, trust.ErrTCBBelowMinimum},
		{"requested at VMPL 2", attest(lowPrivilege), want, policy, fixedNow, ErrVMPL},
		{"VCEK expired", attest(good), want, policy, chip.signer.Vcek.NotAfter.Add(time.Hour), trust.ErrCollateral},
		{"VCEK not yet valid", attest(good), want, policy, chip.signer.Vcek.NotBefore.Add(-time.Hour), trust.ErrCollateral},
		{"revocation asked, no CRL carried", attest(good), want, withRevocation(policy), fixedNow, trust.ErrCollateral},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := chip.verifier(t, c.policy, c.now).Verify(c.ev, c.want); !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
		})
	}

	t.Run("envelope claims an identity", func(t *testing.T) {
		ev := attest(good)
		ev.ReportData = want
		if _, err := chip.verifier(t, policy, fixedNow).Verify(ev, want); !errors.Is(err, trust.ErrEvidenceMalformed) {
			t.Fatalf("err = %v, want ErrEvidenceMalformed", err)
		}
	})
	t.Run("report from another platform", func(t *testing.T) {
		// Same AMD roots, another chip: its VCEK signs, this chip's VCEK
		// certificate is presented.
		otherKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		otherChip := *chip.signer
		keys := *chip.signer.Keys
		keys.Vcek = otherKey
		otherChip.Keys = &keys
		ev := attestWith(t, &fakeChip{signer: &otherChip}, chip, good, want)
		if _, err := chip.verifier(t, policy, fixedNow).Verify(ev, want); !errors.Is(err, trust.ErrBadSignature) {
			t.Fatalf("err = %v, want ErrBadSignature", err)
		}
	})
}

// attestWith has signerChip's key sign the report while the evidence
// carries certChip's certificates.
func attestWith(t *testing.T, signerChip, certChip *fakeChip, g guest, rd trust.ReportData) *trust.Evidence {
	t.Helper()
	b := signerChip.backend(t, g, Options{})
	b.opts.QuoteProvider.(*fakeQuoteProvider).inner.Device.Certs = mustCertTable(t, certChip.signer)
	e, _ := b.Launch(trust.LaunchSpec{})
	ev, err := e.Attest(rd)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func mustCertTable(t *testing.T, s *test.AmdSigner) []byte {
	t.Helper()
	b, err := s.CertTableBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withRevocation(p Policy) Policy {
	p.CheckRevocation = true
	return p
}

// TestRevocation carries the ARK-signed CRL in the evidence: a CRL that
// revokes the ASK refuses the evidence, one that does not accepts it.
func TestRevocation(t *testing.T) {
	chip := newFakeChip(t)
	g := guest{measurement: Measurement{7}}
	policy := withRevocation(Policy{Measurements: []Measurement{g.measurement}})
	want := trust.BindKey(trust.PurposeChannel, []byte("k"), [32]byte{1})
	for _, revoked := range []bool{false, true} {
		var list []pkix.RevokedCertificate
		if revoked {
			list = append(list, pkix.RevokedCertificate{SerialNumber: chip.signer.Ask.SerialNumber, RevocationTime: fixedNow.Add(-time.Minute)})
		}
		crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			RevokedCertificates: list, Number: big.NewInt(1),
			ThisUpdate: fixedNow.Add(-time.Hour), NextUpdate: fixedNow.Add(time.Hour),
		}, chip.signer.Ark, chip.signer.Keys.Ark)
		if err != nil {
			t.Fatal(err)
		}
		getter := &crlKDS{crl: crl}
		if getter.kds, err = test.FakeKDSFromSigner(chip.signer); err != nil {
			t.Fatal(err)
		}
		e, _ := chip.backend(t, g, Options{CRL: true, Getter: getter}).Launch(trust.LaunchSpec{})
		ev, err := e.Attest(want)
		if err != nil {
			t.Fatal(err)
		}
		_, err = chip.verifier(t, policy, fixedNow).Verify(ev, want)
		if revoked != errors.Is(err, trust.ErrCollateral) || (!revoked && err != nil) {
			t.Fatalf("revoked=%v: err = %v", revoked, err)
		}
	}
}

// crlKDS is the fake KDS plus an ARK-signed CRL at AMD's CRL address.
type crlKDS struct {
	kds *test.FakeKDS
	crl []byte
}

func (g *crlKDS) Get(url string) ([]byte, error) {
	if bytes.HasSuffix([]byte(url), []byte("/crl")) {
		return g.crl, nil
	}
	return g.kds.Get(url)
}

// TestSimEvidenceRefusedBySNPVerifier: a verifier that knows only SNP
// refuses sim evidence, whatever it claims.
func TestSimEvidenceRefusedBySNPVerifier(t *testing.T) {
	chip := newFakeChip(t)
	v := chip.verifier(t, Policy{Measurements: []Measurement{{1}}}, fixedNow)
	ev := &trust.Evidence{Version: trust.EvidenceVersion, Backend: trust.BackendSim, Simulated: true}
	if _, err := v.Verify(ev, trust.ReportData{}); !errors.Is(err, trust.ErrSimulatedRefused) {
		t.Fatalf("err = %v", err)
	}
	ev.Simulated = false
	if _, err := v.Verify(ev, trust.ReportData{}); !errors.Is(err, trust.ErrUnknownBackend) {
		t.Fatalf("sim evidence claiming not to be simulated: %v", err)
	}
}

// countingGetter counts the fetches that reach the fake KDS.
type countingGetter struct {
	inner *crlKDS
	n     int
}

func (g *countingGetter) Get(url string) ([]byte, error) {
	g.n++
	return g.inner.Get(url)
}

// TestCollateralCached: the CRL (like a VCEK the host does not supply) is
// fetched once per collateralTTL, not on every attestation.
func TestCollateralCached(t *testing.T) {
	chip := newFakeChip(t)
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: fixedNow.Add(-time.Hour), NextUpdate: fixedNow.Add(time.Hour)}, chip.signer.Ark, chip.signer.Keys.Ark)
	if err != nil {
		t.Fatal(err)
	}
	kds, err := test.FakeKDSFromSigner(chip.signer)
	if err != nil {
		t.Fatal(err)
	}
	g := &countingGetter{inner: &crlKDS{kds: kds, crl: crl}}
	b := chip.backend(t, guest{}, Options{CRL: true, Getter: g})
	now := fixedNow
	b.now = func() time.Time { return now }
	e, _ := b.Launch(trust.LaunchSpec{})
	for i, want := range []int{1, 1, 2} {
		if i == 2 {
			now = now.Add(collateralTTL + time.Second)
		}
		if _, err := e.Attest(trust.ReportData{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if g.n != want {
			t.Fatalf("attestation %d: %d fetches, want %d", i, g.n, want)
		}
	}

	// AMD's KDS unreachable: evidence goes without the CRL; a policy that
	// checks revocation refuses it, one that does not accepts it.
	down := chip.backend(t, guest{measurement: Measurement{5}}, Options{CRL: true, Getter: unreachable{}})
	e, _ = down.Launch(trust.LaunchSpec{})
	rd := trust.ReportData{9}
	ev, err := e.Attest(rd)
	if err != nil {
		t.Fatalf("attestation without the CRL: %v", err)
	}
	p := Policy{Measurements: []Measurement{{5}}}
	if _, err := chip.verifier(t, p, fixedNow).Verify(ev, rd); err != nil {
		t.Fatal(err)
	}
	if _, err := chip.verifier(t, withRevocation(p), fixedNow).Verify(ev, rd); !errors.Is(err, trust.ErrCollateral) {
		t.Fatalf("revocation checked without a CRL: %v", err)
	}
}

type unreachable struct{}

func (unreachable) Get(url string) ([]byte, error) { return nil, errors.New("unreachable: " + url) }
