package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// Exit statuses of "securecached attest".
const (
	attestOK      = 0 // evidence verified
	attestRefused = 1 // evidence present but not acceptable
	attestError   = 2 // usage, connection or handshake failure
)

// evidencePEM is the PEM block type of a saved evidence file.
const evidencePEM = "SECURECACHED EVIDENCE"

// attestUsage describes the subcommand for -h.
const attestUsage = `Usage: securecached attest [flags] HOST:PORT
       securecached attest [flags] --evidence FILE

Connects to a securecached started with -Z, fetches the evidence in its
RA-TLS certificate (bound to a fresh nonce), verifies it and prints what
it checked and the verdict. With --evidence it verifies a saved evidence
file offline instead (--save writes one). Sim evidence is checked against
--signer/--measurement and needs --allow-simulated; SEV-SNP and TDX
evidence is accepted only under --snp-measurement / --tdx-measurement.
Exit status 0: verified; 1: refused; 2: no evidence could be had.

Flags:
`

// runAttest is "securecached attest".
func runAttest(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("attest", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	pf := addPolicyFlags(fs)
	evidenceFile := fs.String("evidence", "", "verify this saved evidence file offline instead of connecting")
	reportData := fs.String("report-data", "", "with --evidence: the 64 bytes (128 hex digits) the evidence must bind (default: shown, not checked)")
	save := fs.String("save", "", "write the fetched evidence to this file")
	at := fs.String("at", "", "verify as of this time (RFC 3339; default now), for saved evidence")
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
	if (*evidenceFile == "") == (fs.NArg() != 1) || fs.NArg() > 1 {
		fs.Usage()
		return attestError
	}
	now := time.Now
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintln(stderr, "attest: --at:", err)
			return attestError
		}
		now = func() time.Time { return t }
	}
	v, err := pf.verifier(now)
	if err != nil {
		fmt.Fprintln(stderr, "attest:", err)
		return attestError
	}
	var (
		ev     *trust.Evidence
		claims *trust.Claims
		verr   error
		source string
		bound  string
	)
	if *evidenceFile != "" {
		source = *evidenceFile
		if ev, err = readEvidence(*evidenceFile); err != nil {
			fmt.Fprintln(stderr, "attest:", err)
			return attestError
		}
		claims, bound, verr, err = verifySaved(v, ev, *reportData)
		if err != nil {
			fmt.Fprintln(stderr, "attest:", err)
			return attestError
		}
	} else {
		source = fs.Arg(0)
		ev, claims, verr, err = fetchEvidence(fs.Arg(0), v, *timeout)
		if err != nil {
			fmt.Fprintln(stderr, "attest:", err)
			return attestError
		}
		bound = "a fresh nonce and the server's TLS key"
	}
	if *save != "" {
		if err := writeEvidence(*save, ev); err != nil {
			fmt.Fprintln(stderr, "attest:", err)
			return attestError
		}
	}
	printVerdict(stdout, source, ev, claims, bound, verr)
	if verr != nil {
		return attestRefused
	}
	return attestOK
}

// verifySaved verifies saved evidence: against the given report data
// (hex), or, without one, everything but the binding, showing the
// report data for the caller to compare.
func verifySaved(v *trust.Verifier, ev *trust.Evidence, reportData string) (claims *trust.Claims, bound string, verr, err error) {
	if reportData == "" {
		c, rd, verr := v.Inspect(ev)
		return c, hex.EncodeToString(rd[:]) + " (NOT checked: no --report-data)", verr, nil
	}
	b, err := hex.DecodeString(reportData)
	if err != nil || len(b) != len(trust.ReportData{}) {
		return nil, "", nil, fmt.Errorf("--report-data: want %d hex digits", 2*len(trust.ReportData{}))
	}
	c, verr := v.Verify(ev, trust.ReportData(b))
	return c, reportData, verr, nil
}

func printVerdict(w io.Writer, source string, ev *trust.Evidence, claims *trust.Claims, bound string, verr error) {
	fmt.Fprintf(w, "evidence:    %s\n", source)
	fmt.Fprintf(w, "backend:     %s\n", ev.Backend)
	fmt.Fprintf(w, "simulated:   %v\n", ev.Simulated)
	fmt.Fprintf(w, "issued at:   %s (the producer's clock)\n", ev.IssuedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "binds:       %s\n", bound)
	if claims != nil {
		if h := claims.Hardware; h != nil {
			fmt.Fprintf(w, "measurement: %x\n", h.Measurement)
			for i, r := range h.RTMRs {
				fmt.Fprintf(w, "rtmr%d:       %x\n", i, r)
			}
			fmt.Fprintf(w, "tcb:         %s\n", h.TCB)
			fmt.Fprintf(w, "debug:       %v\n", h.Debug)
			fmt.Fprintf(w, "platform:    %s\n", h.Platform)
		} else {
			fmt.Fprintf(w, "measurement: %s\n", claims.Measurement)
			fmt.Fprintf(w, "signer:      %s\n", claims.Signer)
		}
		for _, c := range claims.Checked {
			fmt.Fprintf(w, "checked:     %s\n", c)
		}
	} else if ev.Simulated && ev.Backend == trust.BackendSim {
		// Refused sim evidence names what it claims to be; say so, and
		// that nothing vouches for it. (A hardware envelope claims
		// nothing; the refusal says what the checker found.)
		fmt.Fprintf(w, "measurement: %s (claimed, not verified)\n", ev.Measurement)
		fmt.Fprintf(w, "signer:      %s (claimed, not verified)\n", ev.Signer)
	}
	if verr != nil {
		fmt.Fprintf(w, "verdict:     REFUSED: %v\n", verr)
		return
	}
	verdict := "OK"
	if claims.Simulated {
		verdict = "OK (simulated: no hardware protection)"
	}
	fmt.Fprintf(w, "verdict:     %s\n", verdict)
}

// readEvidence reads a file written by writeEvidence (or the raw bytes
// of marshalled evidence).
func readEvidence(path string) (*trust.Evidence, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != evidencePEM {
			return nil, fmt.Errorf("%s: PEM block %q, want %q", path, b.Type, evidencePEM)
		}
		data = b.Bytes
	}
	ev, err := trust.UnmarshalEvidence(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ev, nil
}

func writeEvidence(path string, ev *trust.Evidence) error {
	raw, err := ev.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: evidencePEM, Bytes: raw}), 0o644)
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
