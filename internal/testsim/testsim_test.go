package testsim

import (
	"errors"
	"testing"

	"github.com/securecached/securecached/trust"
)

// TestPolicyAcceptsOnlyAllowedEnclaves: evidence from an allowed enclave
// verifies under Policy; another enclave's and another world's do not.
func TestPolicyAcceptsOnlyAllowedEnclaves(t *testing.T) {
	w, other := New(t), New(t)
	spec := func(kind string) trust.LaunchSpec {
		return trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: kind}, Signer: trust.Signer{1}}
	}
	allowed, stranger := w.Launch(t, spec("allowed")), w.Launch(t, spec("stranger"))
	foreign := other.Launch(t, spec("allowed"))
	v, err := trust.NewVerifier(w.Policy(allowed))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		e    trust.Enclave
		ok   bool
	}{
		{"allowed", allowed, true},
		{"other measurement", stranger, false},
		{"other sim root", foreign, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data trust.ReportData
			ev, err := tt.e.Attest(data)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(ev, data)
			if (err == nil) != tt.ok {
				t.Errorf("Verify: %v, want ok=%v", err, tt.ok)
			}
		})
	}
	if _, err := trust.NewVerifier(w.Policy()); !errors.Is(err, trust.ErrEmptyPolicy) {
		t.Errorf("empty Policy(): NewVerifier error %v, want ErrEmptyPolicy", err)
	}
}
