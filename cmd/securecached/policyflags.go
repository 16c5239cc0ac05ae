package main

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/securecached/securecached/server"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/snp"
	"github.com/securecached/securecached/trust/tdx"
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
	opts := []trust.VerifierOption{trust.WithClock(now)}
	if len(*f.snpMeasurements) > 0 {
		sp := snp.Policy{CheckRevocation: *f.snpRevocation, MaxVMPL: *f.snpMaxVMPL}
		for _, s := range *f.snpMeasurements {
			m, err := snp.ParseMeasurement(s)
			if err != nil {
				return nil, fmt.Errorf("--snp-measurement: %w", err)
			}
			sp.Measurements = append(sp.Measurements, m)
		}
		if sp.MinTCB, err = parseSNPTCB(*f.snpMinTCB); err != nil {
			return nil, err
		}
		c, err := snp.NewChecker(sp)
		if err != nil {
			return nil, err
		}
		opts = append(opts, trust.WithBackend(trust.BackendSNP, c))
	}
	if len(*f.tdxMeasurements) > 0 {
		tp := tdx.Policy{SkipCollateral: *f.tdxSkipCollateral}
		for _, s := range *f.tdxMeasurements {
			m, err := tdx.ParseMeasurement(s)
			if err != nil {
				return nil, fmt.Errorf("--tdx-measurement: %w", err)
			}
			tp.Measurements = append(tp.Measurements, m)
		}
		b, err := hex.DecodeString(*f.tdxMinTCB)
		if err != nil || len(b) != len(tp.MinTCB) {
			return nil, fmt.Errorf("--tdx-min-tcb: want %d hex digits", 2*len(tp.MinTCB))
		}
		copy(tp.MinTCB[:], b)
		c, err := tdx.NewChecker(tp)
		if err != nil {
			return nil, err
		}
		opts = append(opts, trust.WithBackend(trust.BackendTDX, c))
	}
	return trust.NewVerifier(p, opts...)
}

func parseSNPTCB(s string) (snp.TCB, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 {
		return snp.TCB{}, fmt.Errorf("--snp-min-tcb %q: want bootloader:tee:snp:microcode", s)
	}
	var v [4]uint8
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return snp.TCB{}, fmt.Errorf("--snp-min-tcb %q: %w", s, err)
		}
		v[i] = uint8(n)
	}
	return snp.TCB{Bootloader: v[0], TEE: v[1], SNP: v[2], Microcode: v[3]}, nil
}
