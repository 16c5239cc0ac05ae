package server

import (
	"strings"
	"testing"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/snp"
	"github.com/securecached/securecached/trust/tdx"
)

var (
	snpDigest = strings.Repeat("ab", 48)
	tdxMeas   = strings.Repeat(strings.Repeat("cd", 48)+":", 4) + strings.Repeat("cd", 48)
)

func TestHardwarePolicyCheckers(t *testing.T) {
	cases := []struct {
		name    string
		p       HardwarePolicy
		want    []string // backends with a checker
		wantErr string
	}{
		{"empty", HardwarePolicy{}, nil, ""},
		{"snp", HardwarePolicy{SNPMeasurements: []string{snpDigest}, SNPMinTCB: "1:2:3:4"}, []string{trust.BackendSNP}, ""},
		{"tdx", HardwarePolicy{TDXMeasurements: []string{tdxMeas}, TDXMinTCB: strings.Repeat("01", 16)}, []string{trust.BackendTDX}, ""},
		{"both", HardwarePolicy{SNPMeasurements: []string{snpDigest}, TDXMeasurements: []string{tdxMeas}}, []string{trust.BackendSNP, trust.BackendTDX}, ""},
		{"short snp digest", HardwarePolicy{SNPMeasurements: []string{"abcd"}}, nil, "hex digits"},
		{"bad snp tcb", HardwarePolicy{SNPMeasurements: []string{snpDigest}, SNPMinTCB: "1:2:3"}, nil, "bootloader:tee:snp:microcode"},
		{"snp tcb, no measurement", HardwarePolicy{SNPMinTCB: "1:2:3:4"}, nil, "without measurements"},
		{"tdx, four fields", HardwarePolicy{TDXMeasurements: []string{strings.Repeat("cd", 48)}}, nil, "MRTD:RTMR0"},
		{"bad tdx tcb", HardwarePolicy{TDXMeasurements: []string{tdxMeas}, TDXMinTCB: "zz"}, nil, "hex digits"},
		{"tdx tcb, no measurement", HardwarePolicy{TDXMinTCB: strings.Repeat("00", 16)}, nil, "without measurements"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.p.Checkers()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("checkers %v, %v; want %v", got, err, c.want)
			}
			for _, b := range c.want {
				switch got[b].(type) {
				case *snp.Checker:
					if b != trust.BackendSNP {
						t.Fatalf("%s has an SNP checker", b)
					}
				case *tdx.Checker:
					if b != trust.BackendTDX {
						t.Fatalf("%s has a TDX checker", b)
					}
				default:
					t.Fatalf("%s: checker %T", b, got[b])
				}
			}
		})
	}
}

// TestClusterHardwarePolicy: the cluster section's hardware policy parses
// from a layout file, reaches the deployment's checkers for peers on
// confidential VMs, and a bad one stops the start.
func TestClusterHardwarePolicy(t *testing.T) {
	l, err := ParseLayout([]byte(`{"diggi": {"instance": "n1", "address": "127.0.0.1:0",
		"agents": [{"name": "cache", "kind": "securecached", "trusted": true}]},
		"cluster": {"snp_measurements": ["` + snpDigest + `"], "snp_min_tcb": "0:0:0:1",
		            "tdx_measurements": ["` + tdxMeas + `"], "allow_simulated": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	l.Trust = TrustOptions{Backend: BackendSim, StateDir: t.TempDir()}
	d := start(t, l, Options{})
	if _, ok := d.peerCheckers[trust.BackendSNP].(*snp.Checker); !ok {
		t.Fatalf("no sev-snp checker: %v", d.peerCheckers)
	}
	if _, ok := d.peerCheckers[trust.BackendTDX].(*tdx.Checker); !ok {
		t.Fatalf("no tdx checker: %v", d.peerCheckers)
	}
	bad := Layout{Diggi: diggi.Config{Instance: "n2", Agents: []diggi.AgentConfig{{Name: "cache", Kind: "securecached", Trusted: true}}},
		Trust:   TrustOptions{Backend: BackendSim, StateDir: t.TempDir()},
		Cluster: &cluster.Config{Listen: "127.0.0.1:0", SNPMinTCB: "0:0:0:1"}}
	if _, err := Start(bad, Options{}); err == nil || !strings.Contains(err.Error(), "cluster policy") {
		t.Fatalf("a cluster minimum TCB without measurements: %v", err)
	}
}
