package snp

import (
	"testing"

	"github.com/securecached/securecached/trust"
)

// BenchmarkVerifySNPEvidence verifies one SEV-SNP evidence (made by the
// fake firmware) end to end: VCEK chain, report signature, policy.
func BenchmarkVerifySNPEvidence(b *testing.B) {
	chip := newFakeChip(b)
	g := guest{measurement: Measurement{1}}
	e, _ := chip.backend(b, g, Options{}).Launch(trust.LaunchSpec{})
	want := trust.BindKey(trust.PurposeChannel, []byte("k"), [32]byte{1})
	ev, err := e.Attest(want)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := ev.Marshal()
	v := chip.verifier(b, Policy{Measurements: []Measurement{g.measurement}}, fixedNow)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyBytes(raw, want); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(raw)), "evidence-bytes")
}
