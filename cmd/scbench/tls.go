package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/securecached/securecached/internal/testcert"
	"github.com/securecached/securecached/server"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// clientTLSFlags are ycsb's flags for tls:// targets: a CA to verify
// ordinary certificates, or RA-TLS verification of securecached's
// evidence with the policy flags of "securecached attest".
type clientTLSFlags struct {
	ca, serverName, simRoot, signer, measurement string
	insecure, ratls, allowSim                    bool
	fs                                           *pflag.FlagSet
}

func (f *clientTLSFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.ca, "tls-ca", "", "tls:// targets: PEM file of the CA (or self-signed certificate) to verify servers with (default: the system's roots)")
	fs.StringVar(&f.serverName, "tls-server-name", "", "tls:// targets: name to verify in the server certificate (default: the target's host)")
	fs.BoolVar(&f.insecure, "tls-insecure", false, "tls:// targets: do not verify the server certificate (encryption without authentication)")
	fs.BoolVar(&f.ratls, "ratls", false, "tls:// targets: verify securecached's RA-TLS evidence instead of a CA")
	fs.BoolVar(&f.allowSim, "allow-simulated", false, "--ratls: accept evidence from the sim backend (it proves nothing against the host)")
	fs.StringVar(&f.simRoot, "sim-root", "", "--ratls: PEM file with the simulation root certificate (the server's STATE_DIR/simroot.pem)")
	fs.StringVar(&f.signer, "signer", "", "--ratls: expected signer, hex (default: securecached's signer)")
	fs.StringVar(&f.measurement, "measurement", "", "--ratls: expected measurement, hex (default: any, if the signer matches)")
}

// tlsFor makes the TLS configuration of each new connection (see
// client.Config.NewTLS).
type tlsFor = func(addr string) (*tls.Config, error)

// config returns how connections to tls:// targets (useTLS) get their TLS
// configuration, or nil for tcp:// ones; TLS flags without tls:// targets
// are a usage error.
func (f *clientTLSFlags) config(useTLS bool) (tlsFor, error) {
	if !useTLS {
		for _, name := range []string{"tls-ca", "tls-server-name", "tls-insecure", "ratls", "allow-simulated", "sim-root", "signer", "measurement"} {
			if f.fs.Changed(name) {
				return nil, fmt.Errorf("--%s needs tls:// targets", name)
			}
		}
		return nil, nil
	}
	if f.ratls {
		if f.ca != "" || f.insecure {
			return nil, errors.New("--ratls verifies evidence, not a CA: drop --tls-ca and --tls-insecure")
		}
		return ratlsClient(f.allowSim, f.simRoot, f.signer, f.measurement)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.serverName, InsecureSkipVerify: f.insecure}
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate", f.ca)
		}
	}
	return staticTLS(cfg), nil
}

// staticTLS serves one configuration to every connection (the client
// copies it).
func staticTLS(cfg *tls.Config) tlsFor { return func(string) (*tls.Config, error) { return cfg, nil } }

// ratlsClient accepts a server only if its RA-TLS evidence satisfies the
// policy, and makes every handshake bind a fresh nonce, so that each
// connection proves the evidence is fresh.
func ratlsClient(allowSim bool, simRoot, signer, measurement string) (tlsFor, error) {
	policy, err := server.AttestPolicy(allowSim, simRoot, signer, measurement)
	if err != nil {
		return nil, err
	}
	v, err := trust.NewVerifier(policy)
	if err != nil {
		return nil, err
	}
	return func(string) (*tls.Config, error) {
		return ratls.ClientConfig(ratls.ClientOptions{Verifier: v, Nonce: true})
	}, nil
}

// serverTLSFlags are compare's and sweep's --tls and --ratls: the servers
// they start serve TLS, and the clients verify it.
type serverTLSFlags struct{ tls, ratls bool }

func (f *serverTLSFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.tls, "tls", false, "serve TLS (-Z) on both servers with the same fresh self-signed ECDSA P-256 certificate, which the clients verify")
	fs.BoolVar(&f.ratls, "ratls", false, "like --tls, but securecached serves its own RA-TLS certificate, whose evidence the clients verify (simulated evidence accepted, with the server's sim root)")
}

// prepare readies specs to start: a temporary state directory for each
// securecached that was given none (so that a benchmark leaves no platform
// identity behind in the user's home), and with --tls or --ratls the
// command-line flags each server needs and how its clients verify it once
// it runs. cleanup removes the directory once the servers have stopped.
func (f *serverTLSFlags) prepare(specs []serverSpec) (cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "scbench-")
	if err != nil {
		return func() {}, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	states := make([]string, len(specs))
	for i := range specs {
		s := &specs[i]
		if s.memcached {
			continue
		}
		states[i] = stateDirArg(s.args)
		if states[i] == "" {
			// The environment rather than --state-dir, which a
			// stand-in for securecached (tests use memcached) would
			// refuse.
			states[i] = filepath.Join(dir, s.name+"-state")
			s.env = append(s.env, "STATE_DIRECTORY="+states[i])
		}
	}
	if !f.tls && !f.ratls {
		return cleanup, nil
	}
	cert, err := testcert.New(dir)
	if err != nil {
		return cleanup, fmt.Errorf("TLS certificate: %w", err)
	}
	fileClient := func() (tlsFor, error) {
		return staticTLS(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cert.Pool, ServerName: testcert.ServerName}), nil
	}
	for i := range specs {
		s := &specs[i]
		if f.ratls && !s.memcached {
			s.args = append(s.args, "-Z")
			// The sim root exists once the server has started.
			simRoot := filepath.Join(states[i], "simroot.pem")
			s.clientTLS = func() (tlsFor, error) { return ratlsClient(true, simRoot, "", "") }
			continue
		}
		s.args = append(s.args, cert.Flags()...)
		s.clientTLS = fileClient
	}
	return cleanup, nil
}

// stateDirArg returns the value of a --state-dir flag among args, or "".
func stateDirArg(args []string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--state-dir="); ok {
			return v
		}
		if a == "--state-dir" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
