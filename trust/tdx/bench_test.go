package tdx

import (
	"testing"
)

// BenchmarkVerifyTDXQuote verifies Intel's sample quote, as evidence with
// its recorded collateral, without the collateral step (which the sample
// fails) and up to the collateral step's verdict.
func BenchmarkVerifyTDXQuote(b *testing.B) {
	ev := sampleEvidence(b)
	raw, err := ev.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	for _, skip := range []bool{true, false} {
		name := "collateral"
		if skip {
			name = "quote-only"
		}
		b.Run(name, func(b *testing.B) {
			chk, err := NewChecker(Policy{Measurements: []Measurement{sampleMeasurement(b)}, SkipCollateral: skip})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, err := chk.Check(ev, sampleTime)
				if skip && err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "evidence-bytes")
		})
	}
}
