package server

import (
	"fmt"

	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/snp"
	"github.com/securecached/securecached/trust/tdx"
)

// HardwarePolicy is what evidence of the hardware backends must satisfy,
// in the text forms of securecached's flags and layout files. A backend
// whose measurements are not listed is not accepted at all.
type HardwarePolicy struct {
	// SNPMeasurements are allowed SEV-SNP launch digests (96 hex digits).
	SNPMeasurements []string
	// SNPMinTCB is the minimum reported TCB, bootloader:tee:snp:microcode
	// ("" is 0:0:0:0).
	SNPMinTCB          string
	SNPCheckRevocation bool
	SNPMaxVMPL         uint32
	// TDXMeasurements are allowed MRTD:RTMR0:RTMR1:RTMR2:RTMR3.
	TDXMeasurements []string
	// TDXMinTCB is the minimum TEE TCB SVN, 32 hex digits ("" is zeros).
	TDXMinTCB         string
	TDXSkipCollateral bool
}

// Checkers returns a checker per backend the policy accepts, by backend
// name, for trust.WithBackend or diggichannel.Options.PeerCheckers.
func (p HardwarePolicy) Checkers() (map[string]trust.Checker, error) {
	out := map[string]trust.Checker{}
	if len(p.SNPMeasurements) > 0 {
		sp := snp.Policy{CheckRevocation: p.SNPCheckRevocation, MaxVMPL: p.SNPMaxVMPL}
		for _, s := range p.SNPMeasurements {
			m, err := snp.ParseMeasurement(s)
			if err != nil {
				return nil, err
			}
			sp.Measurements = append(sp.Measurements, m)
		}
		if p.SNPMinTCB != "" {
			var err error
			if sp.MinTCB, err = snp.ParseTCB(p.SNPMinTCB); err != nil {
				return nil, err
			}
		}
		c, err := snp.NewChecker(sp)
		if err != nil {
			return nil, err
		}
		out[trust.BackendSNP] = c
	} else if p.SNPMinTCB != "" || p.SNPCheckRevocation || p.SNPMaxVMPL != 0 {
		return nil, fmt.Errorf("a sev-snp policy without measurements accepts no SEV-SNP evidence")
	}
	if len(p.TDXMeasurements) > 0 {
		tp := tdx.Policy{SkipCollateral: p.TDXSkipCollateral}
		for _, s := range p.TDXMeasurements {
			m, err := tdx.ParseMeasurement(s)
			if err != nil {
				return nil, err
			}
			tp.Measurements = append(tp.Measurements, m)
		}
		if p.TDXMinTCB != "" {
			var err error
			if tp.MinTCB, err = tdx.ParseTCB(p.TDXMinTCB); err != nil {
				return nil, err
			}
		}
		c, err := tdx.NewChecker(tp)
		if err != nil {
			return nil, err
		}
		out[trust.BackendTDX] = c
	} else if p.TDXMinTCB != "" || p.TDXSkipCollateral {
		return nil, fmt.Errorf("a tdx policy without measurements accepts no TDX evidence")
	}
	return out, nil
}

// verifierOptions registers checkers with a verifier.
func verifierOptions(checkers map[string]trust.Checker) []trust.VerifierOption {
	var opts []trust.VerifierOption
	for name, c := range checkers {
		opts = append(opts, trust.WithBackend(name, c))
	}
	return opts
}
