package main

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sevtestdata "github.com/google/go-sev-guest/verify/testdata"
	svtrust "github.com/google/go-sev-guest/verify/trust"
	tdxabi "github.com/google/go-tdx-guest/abi"
	pb "github.com/google/go-tdx-guest/proto/tdx"
	tdxtest "github.com/google/go-tdx-guest/testing"
	tdxtestdata "github.com/google/go-tdx-guest/testing/testdata"

	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/snp"
	"github.com/securecached/securecached/trust/tdx"
)

func runCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String() + errb.String()
}

func saveEvidence(t *testing.T, ev *trust.Evidence) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "evidence.pem")
	if err := writeEvidence(path, ev); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAttestSavedTDXEvidence verifies Intel's sample quote, saved with
// its recorded collateral, offline: accepted without collateral checks
// (and bound to its report data when given), refused by Intel's own TCB
// information, and refused for another report data.
func TestAttestSavedTDXEvidence(t *testing.T) {
	at := time.Date(2023, time.July, 1, 1, 0, 0, 0, time.UTC)
	ev, err := tdx.NewEvidence(tdxtestdata.RawQuote, tdxtest.TestGetter, at)
	if err != nil {
		t.Fatal(err)
	}
	path := saveEvidence(t, ev)
	q, err := tdxabi.QuoteToProto(tdxtestdata.RawQuote)
	if err != nil {
		t.Fatal(err)
	}
	body := q.(*pb.QuoteV4).GetTdQuoteBody()
	m := hex.EncodeToString(body.GetMrTd())
	for _, r := range body.GetRtmrs() {
		m += ":" + hex.EncodeToString(r)
	}
	rd := hex.EncodeToString(body.GetReportData())
	base := []string{"attest", "--evidence", path, "--tdx-measurement", m, "--at", at.Format(time.RFC3339)}

	code, out := runCmd(t, append(base, "--tdx-skip-collateral")...)
	if code != attestOK || !strings.Contains(out, "checked:     tdx: PCK certificate chains to the policy's Intel SGX root") ||
		!strings.Contains(out, "NOT checked: no --report-data") || !strings.Contains(out, "measurement: "+m[:96]) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out = runCmd(t, append(base, "--tdx-skip-collateral", "--report-data", rd)...)
	if code != attestOK || !strings.Contains(out, "report data binds the expected key and nonce") {
		t.Fatalf("with report data: exit %d:\n%s", code, out)
	}
	code, out = runCmd(t, append(base, "--tdx-skip-collateral", "--report-data", strings.Repeat("00", 64))...)
	if code != attestRefused || !strings.Contains(out, "REFUSED: trust: report data does not bind") {
		t.Fatalf("wrong report data: exit %d:\n%s", code, out)
	}
	code, out = runCmd(t, base...)
	if code != attestRefused || !strings.Contains(out, "REFUSED: trust: TCB below the minimum") {
		t.Fatalf("with Intel's collateral: exit %d:\n%s", code, out)
	}
	code, out = runCmd(t, "attest", "--evidence", path, "--at", at.Format(time.RFC3339))
	if code != attestRefused || !strings.Contains(out, "no verifier for evidence backend") {
		t.Fatalf("no TDX policy: exit %d:\n%s", code, out)
	}
}

// TestAttestSavedSNPEvidence: AMD's sample report verifies up to its
// guest policy, which allows debugging, so it is refused.
func TestAttestSavedSNPEvidence(t *testing.T) {
	at := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	pc := &svtrust.ProductCerts{}
	if err := pc.FromKDSCertBytes(svtrust.AskArkMilanVcekBytes); err != nil {
		t.Fatal(err)
	}
	ev, err := snp.NewEvidence(sevtestdata.AttestationBytes, sevtestdata.VcekBytes, pc.Ask.Raw, pc.Ark.Raw, "Milan-B0", at)
	if err != nil {
		t.Fatal(err)
	}
	code, out := runCmd(t, "attest", "--evidence", saveEvidence(t, ev), "--at", at.Format(time.RFC3339),
		"--snp-measurement", "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01")
	if code != attestRefused || !strings.Contains(out, "REFUSED: trust: debug-enabled guest refused") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// TestAttestSavedSimEvidence verifies saved sim evidence with its root,
// and refuses it without --allow-simulated.
func TestAttestSavedSimEvidence(t *testing.T) {
	w := testsim.New(t)
	e := w.Launch(t, trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}, Signer: trust.Signer{5}})
	ev, err := e.Attest(trust.BindKey(trust.PurposeRATLS, []byte("k"), [32]byte{1}))
	if err != nil {
		t.Fatal(err)
	}
	path := saveEvidence(t, ev)
	root := filepath.Join(t.TempDir(), "simroot.pem")
	if err := os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.SimRoots()[0].Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	signer := trust.Signer{5}.String()
	code, out := runCmd(t, "attest", "--evidence", path, "--allow-simulated", "--sim-root", root, "--signer", signer)
	if code != attestOK || !strings.Contains(out, "OK (simulated: no hardware protection)") || !strings.Contains(out, "SIMULATED") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out = runCmd(t, "attest", "--evidence", path, "--signer", signer)
	if code != attestRefused || !strings.Contains(out, "simulated evidence refused") || !strings.Contains(out, "signer:      "+signer+" (claimed, not verified)") {
		t.Fatalf("without --allow-simulated: exit %d:\n%s", code, out)
	}
	if code, out = runCmd(t, "attest", "--evidence", filepath.Join(t.TempDir(), "missing")); code != attestError {
		t.Fatalf("missing file: exit %d:\n%s", code, out)
	}
}
