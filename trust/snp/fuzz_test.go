package snp

import (
	"testing"

	"github.com/securecached/securecached/trust"
)

// FuzzCheck feeds hostile reports and collateral to the checker: it must
// refuse them, never panic, and never accept anything but the genuine
// evidence it was seeded with.
func FuzzCheck(f *testing.F) {
	chip := newFakeChip(f)
	g := guest{measurement: Measurement{1}}
	e, _ := chip.backend(f, g, Options{}).Launch(trust.LaunchSpec{})
	ev, err := e.Attest(trust.ReportData{7})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ev.Report, ev.Collateral)
	f.Add(ev.Report[:100], []byte("{}"))
	f.Add([]byte{}, []byte("null"))
	chk, err := NewChecker(Policy{Measurements: []Measurement{g.measurement}, Roots: chip.roots(), CheckRevocation: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, report, col []byte) {
		in := &trust.Evidence{Version: trust.EvidenceVersion, Backend: trust.BackendSNP, Report: report, Collateral: col}
		if _, err := chk.Check(in, fixedNow); err == nil {
			t.Fatal("evidence without its CRL accepted under CheckRevocation")
		}
	})
}
