package auto

import (
	"errors"
	"testing"

	"github.com/securecached/securecached/trust"
)

func TestResolve(t *testing.T) {
	none, both := Hardware{}, Hardware{SNP: true, TDX: true}
	cases := []struct {
		requested string
		allowSim  bool
		hw        Hardware
		want      string
		err       error
	}{
		{"auto", false, none, "", trust.ErrNoHardware},
		{"auto", true, none, "sim", nil},
		{"auto", false, Hardware{SNP: true}, "sev-snp", nil},
		{"auto", false, Hardware{TDX: true}, "tdx", nil},
		{"auto", true, both, "sev-snp", nil},
		{"sev-snp", true, Hardware{TDX: true}, "", trust.ErrNoHardware},
		{"tdx", true, Hardware{SNP: true}, "", trust.ErrNoHardware},
		{"tdx", false, Hardware{TDX: true}, "tdx", nil},
		{"sim", false, none, "sim", nil},
		{"none", false, none, "none", nil},
	}
	for _, c := range cases {
		got, err := Resolve(c.requested, c.allowSim, c.hw)
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("Resolve(%q, allowSim=%v, %s) = %q, %v; want %q, %v", c.requested, c.allowSim, c.hw, got, err, c.want, c.err)
		}
	}
	if _, err := Resolve("sgx", true, both); err == nil {
		t.Error("unknown backend accepted")
	}
}

// TestDetectOnThisMachine: CI machines are no confidential VMs, so auto
// must refuse here unless simulation is allowed. If this machine is one,
// the probe must say so and auto must pick it.
func TestDetectOnThisMachine(t *testing.T) {
	hw := Detect()
	got, err := Resolve("auto", false, hw)
	if hw == (Hardware{}) {
		if !errors.Is(err, trust.ErrNoHardware) {
			t.Fatalf("no hardware: Resolve(auto) = %q, %v; want ErrNoHardware", got, err)
		}
		if got, err := Resolve("auto", true, hw); got != "sim" || err != nil {
			t.Fatalf("no hardware, sim allowed: %q, %v", got, err)
		}
		if _, err := NewHardware(trust.BackendSNP); !errors.Is(err, trust.ErrNoHardware) {
			t.Fatalf("SNP backend on a machine without SNP: %v", err)
		}
		return
	}
	if err != nil || (got != trust.BackendSNP && got != trust.BackendTDX) {
		t.Fatalf("hardware %s: Resolve(auto) = %q, %v", hw, got, err)
	}
}
