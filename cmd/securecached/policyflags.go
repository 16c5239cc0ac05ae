package main

import (
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/securecached/securecached/server"
	"github.com/securecached/securecached/trust"
)

// policyFlags are the verification policy flags "attest" and "ca" share:
// sim's (agent signer and measurement, whether simulation is accepted)
// and each hardware backend's. A hardware backend's evidence is accepted
// only if its measurement flag is given.
type policyFlags struct {
	allowSim          *bool
	simRoot           *string
	signer            *string
	measurement       *string
	snpMeasurements   *[]string
	snpMinTCB         *string
	snpRevocation     *bool
	snpMaxVMPL        *uint32
	tdxMeasurements   *[]string
	tdxMinTCB         *string
	tdxSkipCollateral *bool
}

func addPolicyFlags(fs *pflag.FlagSet) *policyFlags {
	return &policyFlags{
		allowSim:          fs.Bool("allow-simulated", false, "accept evidence from the sim backend (it proves nothing against the host)"),
		simRoot:           fs.String("sim-root", "", "PEM file with the simulation root certificate (the server's STATE_DIR/simroot.pem)"),
		signer:            fs.String("signer", "", "expected signer of sim evidence, hex (default: securecached's signer)"),
		measurement:       fs.String("measurement", "", "expected agent measurement of sim evidence, hex (default: any, if the signer matches)"),
		snpMeasurements:   fs.StringArray("snp-measurement", nil, "accept SEV-SNP evidence with this launch digest (96 hex digits; repeatable)"),
		snpMinTCB:         fs.String("snp-min-tcb", "0:0:0:0", "minimum SEV-SNP reported TCB, bootloader:tee:snp:microcode"),
		snpRevocation:     fs.Bool("snp-check-revocation", false, "require the ARK-signed CRL in SEV-SNP evidence and refuse a revoked ASK"),
		snpMaxVMPL:        fs.Uint32("snp-max-vmpl", 0, "least privileged VMPL whose SEV-SNP reports are accepted (guests behind a paravisor run above 0)"),
		tdxMeasurements:   fs.StringArray("tdx-measurement", nil, "accept TDX evidence with these MRTD:RTMR0:RTMR1:RTMR2:RTMR3 (repeatable)"),
		tdxMinTCB:         fs.String("tdx-min-tcb", strings.Repeat("0", 32), "minimum TDX TEE TCB SVN, 32 hex digits"),
		tdxSkipCollateral: fs.Bool("tdx-skip-collateral", false, "verify TDX quotes without Intel's TCB info, QE identity and CRLs (TCB status and revocation unknown)"),
	}
}

// verifier builds the verifier the flags describe, on clock now.
func (f *policyFlags) verifier(now func() time.Time) (*trust.Verifier, error) {
	p, err := server.AttestPolicy(*f.allowSim, *f.simRoot, *f.signer, *f.measurement)
	if err != nil {
		return nil, err
	}
	hp := server.HardwarePolicy{
		SNPMeasurements: *f.snpMeasurements, SNPCheckRevocation: *f.snpRevocation, SNPMaxVMPL: *f.snpMaxVMPL,
		TDXMeasurements: *f.tdxMeasurements, TDXSkipCollateral: *f.tdxSkipCollateral,
	}
	// The minimums have defaults; they mean something only for a backend
	// whose measurements are given.
	if len(hp.SNPMeasurements) > 0 {
		hp.SNPMinTCB = *f.snpMinTCB
	}
	if len(hp.TDXMeasurements) > 0 {
		hp.TDXMinTCB = *f.tdxMinTCB
	}
	checkers, err := hp.Checkers()
	if err != nil {
		return nil, err
	}
	opts := []trust.VerifierOption{trust.WithClock(now)}
	for name, c := range checkers {
		opts = append(opts, trust.WithBackend(name, c))
	}
	return trust.NewVerifier(p, opts...)
}
