package server

import (
	"errors"
	"fmt"
	"os"

	"github.com/securecached/securecached/trust"
)

// AttestPolicy is the verification policy of a client of securecached's
// RA-TLS certificates (securecached attest, scbench --ratls), from their
// common flags: the signer (hex; securecached's own by default), an
// optional measurement (hex), and whether simulated evidence is accepted,
// which then needs the server's simulation root (a PEM file, the server's
// STATE_DIR/simroot.pem). Errors name those flags.
func AttestPolicy(allowSim bool, simRoot, signer, measurement string) (trust.Policy, error) {
	p := trust.Policy{AllowSimulated: allowSim}
	s := Signer()
	if signer != "" {
		var err error
		if s, err = trust.ParseSigner(signer); err != nil {
			return p, fmt.Errorf("--signer: %w", err)
		}
	}
	p.Signers = []trust.Signer{s}
	if measurement != "" {
		m, err := trust.ParseMeasurement(measurement)
		if err != nil {
			return p, fmt.Errorf("--measurement: %w", err)
		}
		p.Measurements = []trust.Measurement{m}
	}
	if simRoot != "" {
		data, err := os.ReadFile(simRoot)
		if err != nil {
			return p, fmt.Errorf("--sim-root: %w", err)
		}
		if p.SimRoots, err = trust.ParseCertificatesPEM(data); err != nil {
			return p, fmt.Errorf("--sim-root %s: %w", simRoot, err)
		}
	}
	if allowSim && len(p.SimRoots) == 0 {
		return p, errors.New("--allow-simulated needs --sim-root (the server's simroot.pem)")
	}
	return p, nil
}
