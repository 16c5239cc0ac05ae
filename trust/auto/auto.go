// Package auto chooses the trust backend an instance runs on: the TEE
// hardware present (SEV-SNP, TDX) when asked for "auto", or the one named,
// and refuses, rather than silently falling back, when the hardware asked
// for is not there. Simulation is chosen only when named ("sim") or
// explicitly allowed as the fallback of "auto".
//
// It imports the hardware backends to probe them; it must never import
// the runtime (diggi) or memcached code.
package auto

import (
	"fmt"

	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/snp"
	"github.com/securecached/securecached/trust/tdx"
)

// Hardware is what a probe found.
type Hardware struct {
	SNP bool // an SEV-SNP guest with configfs-tsm or /dev/sev-guest
	TDX bool // a TDX guest with configfs-tsm or /dev/tdx_guest
}

func (h Hardware) String() string {
	switch {
	case h.SNP && h.TDX:
		return "sev-snp and tdx"
	case h.SNP:
		return "sev-snp"
	case h.TDX:
		return "tdx"
	}
	return "no TEE hardware"
}

// Detect probes this machine's kernel interfaces.
func Detect() Hardware {
	return Hardware{SNP: snp.Available(), TDX: tdx.Available()}
}

// Resolve returns the backend to run for requested ("auto", "sev-snp",
// "tdx", "sim" or "none") on a machine with hw. "auto" picks SEV-SNP,
// else TDX; with neither it is an error (trust.ErrNoHardware) unless
// allowSim, and then "sim". A named hardware backend that is absent is an
// error whatever allowSim says: the operator asked for protection.
func Resolve(requested string, allowSim bool, hw Hardware) (string, error) {
	switch requested {
	case trust.BackendAuto:
		switch {
		case hw.SNP:
			return trust.BackendSNP, nil
		case hw.TDX:
			return trust.BackendTDX, nil
		case allowSim:
			return trust.BackendSim, nil
		}
		return "", fmt.Errorf("%w: backend %q found %s, and simulation is not allowed (allow it explicitly to run trusted agents without hardware protection)", trust.ErrNoHardware, requested, hw)
	case trust.BackendSNP:
		if !hw.SNP {
			return "", fmt.Errorf("%w: backend %q asked for, found %s", trust.ErrNoHardware, requested, hw)
		}
	case trust.BackendTDX:
		if !hw.TDX {
			return "", fmt.Errorf("%w: backend %q asked for, found %s", trust.ErrNoHardware, requested, hw)
		}
	case trust.BackendSim, trust.BackendNone:
	default:
		return "", fmt.Errorf("unknown trust backend %q (want auto, sev-snp, tdx, sim or none)", requested)
	}
	return requested, nil
}

// NewHardware returns the backend for a hardware name Resolve returned,
// on this machine's devices.
func NewHardware(name string) (trust.Backend, error) {
	switch name {
	case trust.BackendSNP:
		// With AMD's CRL in the evidence, verifiers may check revocation.
		return snp.NewBackend(snp.Options{CRL: true})
	case trust.BackendTDX:
		return tdx.NewBackend(tdx.Options{})
	}
	return nil, fmt.Errorf("%q is not a hardware backend", name)
}
