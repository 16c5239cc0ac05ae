package tdx

import (
	"bytes"
	"testing"

	"github.com/securecached/securecached/trust"
)

// FuzzCheck feeds hostile quotes and collateral to the checker: it must
// refuse them, never panic, and accept nothing but the genuine sample.
func FuzzCheck(f *testing.F) {
	ev := sampleEvidence(f)
	f.Add(ev.Report, ev.Collateral)
	f.Add(ev.Report[:600], []byte(`{"responses":[{"url":"x"}]}`))
	f.Add([]byte{4, 0, 2, 0}, []byte{})
	chk, err := NewChecker(Policy{Measurements: []Measurement{sampleMeasurement(f)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, quote, col []byte) {
		in := &trust.Evidence{Version: trust.EvidenceVersion, Backend: trust.BackendTDX, Report: quote, Collateral: col}
		_, err := chk.Check(in, sampleTime)
		// The sample's own collateral rates its TCB out of date: even the
		// genuine evidence is refused under this policy.
		if err == nil {
			t.Fatalf("accepted (genuine quote: %v)", bytes.Equal(quote, ev.Report))
		}
	})
}
