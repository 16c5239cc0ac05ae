package tdx

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-tdx-guest/abi"
	pb "github.com/google/go-tdx-guest/proto/tdx"
	tdxtest "github.com/google/go-tdx-guest/testing"
	"github.com/google/go-tdx-guest/testing/testdata"

	"github.com/securecached/securecached/trust"
)

// The real quote go-tdx-guest ships (testing/testdata, a Sapphire Rapids
// TD's version 4 quote with its PCK chain) and the PCS responses for its
// platform (go-tdx-guest's TestGetter). sampleMRTD is the quote's MRTD.
const sampleMRTD = "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb"

var (
	// sampleTime is inside the PCK chain's and the collateral's validity.
	sampleTime = time.Date(2023, time.July, 1, 1, 0, 0, 0, time.UTC)
	// laterTime is inside the PCK chain's validity, after the collateral's.
	laterTime = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
)

func sampleBody(t testing.TB) *pb.TDQuoteBody {
	t.Helper()
	q, err := abi.QuoteToProto(testdata.RawQuote)
	if err != nil {
		t.Fatal(err)
	}
	return q.(*pb.QuoteV4).GetTdQuoteBody()
}

// sampleMeasurement is the policy entry that names the sample TD: MRTD
// from the constant above, RTMRs as the library parses them.
func sampleMeasurement(t testing.TB) Measurement {
	t.Helper()
	var m Measurement
	body := sampleBody(t)
	for i, r := range body.GetRtmrs() {
		copy(m.RTMR[i][:], r)
	}
	mrtd, err := ParseMeasurement(sampleMRTD + ":" + m.String()[97:])
	if err != nil {
		t.Fatal(err)
	}
	return mrtd
}

func sampleReportData(t testing.TB) trust.ReportData {
	var rd trust.ReportData
	copy(rd[:], sampleBody(t).GetReportData())
	return rd
}

// sampleEvidence is what the backend makes on go-tdx-guest's fake quote
// provider, which answers with the real sample quote, collateral recorded
// from the library's offline PCS responses.
func sampleEvidence(t testing.TB) *trust.Evidence {
	t.Helper()
	tcs := tdxtest.TestCases()
	qp, err := tdxtest.TcQuoteProvider(tcs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBackend(Options{QuoteProvider: qp, Getter: tdxtest.TestGetter})
	if err != nil {
		t.Fatal(err)
	}
	b.now = func() time.Time { return sampleTime }
	e, err := b.Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := e.Attest(tcs[0].Input)
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

func verifier(t *testing.T, p Policy, now time.Time) *trust.Verifier {
	t.Helper()
	chk, err := NewChecker(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := trust.NewVerifier(trust.Policy{}, trust.WithBackend(trust.BackendTDX, chk), trust.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRealSampleQuote verifies Intel's real sample quote offline, at
// fixed clocks: the quote and its PCK chain verify against Intel's root,
// and the claims come out of the quote. With its collateral, the verdict
// is Intel's: the TCB information go-tdx-guest ships has no level this
// platform's TCB reaches, so it is refused as out of date; later, the
// collateral has expired.
func TestRealSampleQuote(t *testing.T) {
	ev := sampleEvidence(t)
	m := sampleMeasurement(t)
	want := sampleReportData(t)
	noCol := Policy{Measurements: []Measurement{m}, SkipCollateral: true}

	claims, err := verifier(t, noCol, sampleTime).Verify(ev, want)
	if err != nil {
		t.Fatalf("sample quote refused: %v", err)
	}
	if h := claims.Hardware; h == nil || len(h.Measurement) != 48 || h.Debug || len(h.RTMRs) != 4 || h.Platform == "" {
		t.Fatalf("claims: %+v", claims.Hardware)
	}
	if got := m.String()[:96]; got != sampleMRTD {
		t.Fatal("policy entry is not the sample's")
	}
	var derived Measurement
	copy(derived.MRTD[:], claims.Hardware.Measurement)
	if derived.MRTD != m.MRTD {
		t.Fatalf("MRTD %x, want the sample's", claims.Hardware.Measurement)
	}

	otherM := m
	otherM.RTMR[3][0] ^= 1
	high := noCol
	high.MinTCB = TCB{0xff}
	withCol := noCol
	withCol.SkipCollateral = false
	tampered := sampleEvidence(t)
	tampered.Report[48+136] ^= 1 // a byte of the TD quote body's MRTD
	bare := sampleEvidence(t)
	bare.Collateral = nil
	cases := []struct {
		name   string
		ev     *trust.Evidence
		want   trust.ReportData
		policy Policy
		now    time.Time
		err    error
	}{
		{"wrong measurement (RTMR3)", ev, want, Policy{Measurements: []Measurement{otherM}, SkipCollateral: true}, sampleTime, trust.ErrMeasurementNotAllowed},
		{"wrong report data", ev, trust.ReportData{1}, noCol, sampleTime, trust.ErrReportDataMismatch},
		{"report data the producer asked for is not believed", ev, trust.ReportData(tdxtest.TestCases()[0].Input), noCol, sampleTime, trust.ErrReportDataMismatch},
		{"TCB below the policy's minimum", ev, want, high, sampleTime, trust.ErrTCBBelowMinimum},
		{"TCB out of date by Intel's collateral", ev, want, withCol, sampleTime, trust.ErrTCBBelowMinimum},
		{"collateral expired", ev, want, withCol, laterTime, trust.ErrCollateral},
		{"collateral missing", bare, want, withCol, sampleTime, trust.ErrCollateral},
		{"PCK chain expired", ev, want, noCol, time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC), trust.ErrCollateral},
		{"tampered quote", tampered, want, noCol, sampleTime, trust.ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := verifier(t, c.policy, c.now).Verify(c.ev, c.want); !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
		})
	}
	t.Run("another root of trust", func(t *testing.T) {
		p := noCol
		p.Roots = x509.NewCertPool()
		p.Roots.AddCert(selfSignedRoot(t))
		if _, err := verifier(t, p, sampleTime).Verify(ev, want); !errors.Is(err, trust.ErrBadSignature) {
			t.Fatalf("err = %v, want ErrBadSignature", err)
		}
	})
}

func selfSignedRoot(t *testing.T) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Intel SGX Root CA"},
		NotBefore: sampleTime.AddDate(-1, 0, 0), NotAfter: sampleTime.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPolicyRefusesDebug checks the policy step on a quote body with
// TDATTRIBUTES.DEBUG set. go-tdx-guest ships no fake quote signer, so a
// debug quote cannot be signed here: this tests the step that runs after
// the signature has verified, on the sample's body with the bit flipped.
func TestPolicyRefusesDebug(t *testing.T) {
	body := sampleBody(t)
	c, err := NewChecker(Policy{Measurements: []Measurement{sampleMeasurement(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.policy(body, &trust.HardwareClaims{}); err != nil {
		t.Fatalf("sample body refused: %v", err)
	}
	body.TdAttributes[0] |= tdAttributesDebug
	hw := &trust.HardwareClaims{Debug: body.GetTdAttributes()[0]&tdAttributesDebug != 0}
	if _, err := c.policy(body, hw); !errors.Is(err, trust.ErrDebugNotAllowed) {
		t.Fatalf("debug TD: %v", err)
	}
}

func TestSealRefused(t *testing.T) {
	qp, _ := tdxtest.TcQuoteProvider(tdxtest.TestCases())
	b, err := NewBackend(Options{QuoteProvider: qp, Getter: tdxtest.TestGetter})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := b.Launch(trust.LaunchSpec{})
	if _, err := e.Seal(trust.SealToMeasurement, []byte("x"), nil); !errors.Is(err, trust.ErrSealUnsupported) {
		t.Fatalf("seal: %v", err)
	}
	if _, err := e.Unseal([]byte("x"), nil); !errors.Is(err, trust.ErrSealUnsupported) {
		t.Fatalf("unseal: %v", err)
	}
}

func TestParseMeasurement(t *testing.T) {
	m := sampleMeasurement(t)
	got, err := ParseMeasurement(m.String())
	if err != nil || got != m {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", sampleMRTD, m.String() + ":00", m.String()[:len(m.String())-1] + "g"} {
		if _, err := ParseMeasurement(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestProduceThroughDevice makes evidence through go-tdx-guest's fake
// /dev/tdx_guest (the ioctl path, beside configfs-tsm's): the quote in the
// evidence is the one the device returned, and it verifies.
func TestProduceThroughDevice(t *testing.T) {
	tcs := tdxtest.TestCases()
	d, err := tdxtest.TcDevice(tcs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBackend(Options{QuoteProvider: d, Getter: tdxtest.TestGetter})
	if err != nil {
		t.Fatal(err)
	}
	b.now = func() time.Time { return sampleTime }
	e, _ := b.Launch(trust.LaunchSpec{})
	ev, err := e.Attest(tcs[0].Input)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Report, testdata.RawQuote) {
		t.Fatal("evidence does not carry the device's quote")
	}
	if _, err := verifier(t, Policy{Measurements: []Measurement{sampleMeasurement(t)}, SkipCollateral: true}, sampleTime).Verify(ev, sampleReportData(t)); err != nil {
		t.Fatal(err)
	}
}
