package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/pflag"

	"github.com/securecached/securecached/server"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// Exit statuses of "securecached attest".
const (
	attestOK      = 0 // evidence verified
	attestRefused = 1 // evidence present but not acceptable
	attestError   = 2 // usage, connection or handshake failure
)

// attestUsage describes the subcommand for -h.
const attestUsage = `Usage: securecached attest [flags] HOST:PORT

Connects to a securecached started with -Z, fetches the evidence in its
RA-TLS certificate (bound to a fresh nonce), verifies it and prints the
measurement, signer and verdict. Exit status 0: verified; 1: refused;
2: no evidence could be fetched.

Flags:
`

// runAttest is "securecached attest".
func runAttest(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("attest", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	allowSim := fs.Bool("allow-simulated", false, "accept evidence from the sim backend (it proves nothing against the host)")
	simRoot := fs.String("sim-root", "", "PEM file with the simulation root certificate (the server's STATE_DIR/simroot.pem)")
	signer := fs.String("signer", "", "expected signer, hex (default: securecached's signer)")
	measurement := fs.String("measurement", "", "expected measurement, hex (default: any, if the signer matches)")
	timeout := fs.Duration("timeout", 10*time.Second, "connection and handshake timeout")
	fs.Usage = func() {
		fmt.Fprint(stderr, attestUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return attestOK
		}
		return attestError
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return attestError
	}
	policy, err := server.AttestPolicy(*allowSim, *simRoot, *signer, *measurement)
	if err != nil {
		fmt.Fprintln(stderr, "attest:", err)
		return attestError
	}
	v, err := trust.NewVerifier(policy)
	if err != nil {
		fmt.Fprintln(stderr, "attest:", err)
		return attestError
	}
	ev, claims, verr, err := fetchEvidence(fs.Arg(0), v, *timeout)
	if err != nil {
		fmt.Fprintln(stderr, "attest:", err)
		return attestError
	}
	fmt.Fprintf(stdout, "server:      %s\n", fs.Arg(0))
	fmt.Fprintf(stdout, "backend:     %s\n", ev.Backend)
	fmt.Fprintf(stdout, "simulated:   %v\n", ev.Simulated)
	fmt.Fprintf(stdout, "measurement: %s\n", ev.Measurement)
	fmt.Fprintf(stdout, "signer:      %s\n", ev.Signer)
	fmt.Fprintf(stdout, "issued at:   %s\n", ev.IssuedAt.UTC().Format(time.RFC3339))
	if verr != nil {
		fmt.Fprintf(stdout, "verdict:     REFUSED: %v\n", verr)
		return attestRefused
	}
	verdict := "OK"
	if claims.Simulated {
		verdict = "OK (simulated: no hardware protection)"
	}
	fmt.Fprintf(stdout, "verdict:     %s\n", verdict)
	return attestOK
}

// fetchEvidence runs a TLS handshake that records the server's evidence
// and verifies it against v with a fresh nonce. err is a failure to get
// evidence at all; verr is the verifier's verdict on evidence we got.
func fetchEvidence(addr string, v *trust.Verifier, timeout time.Duration) (ev *trust.Evidence, claims *trust.Claims, verr, err error) {
	var nonce [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, nil, nil, err
	}
	cfg := &tls.Config{
		ServerName: ratls.NonceServerName(nonce),
		MinVersion: tls.VersionTLS13,
		// The certificate is judged by its evidence, not by a CA: the
		// callback below is the whole verification.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return ratls.ErrNoPeerCert
			}
			cert, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			for _, e := range cert.Extensions {
				if e.Id.Equal(ratls.OIDEvidence) {
					ev, err = trust.UnmarshalEvidence(e.Value)
					if err != nil {
						return err
					}
				}
			}
			if ev == nil {
				return ratls.ErrNoEvidence
			}
			claims, verr = ratls.VerifyCertificate(v, cert, nonce)
			return nil
		},
	}
	d := &net.Dialer{Timeout: timeout}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	c.Close()
	return ev, claims, verr, nil
}
