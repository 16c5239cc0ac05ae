package main

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/securecached/securecached/server"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/auto"
	"github.com/securecached/securecached/trust/ca"
)

// Files of the CA in its state directory.
const (
	caCertFile = "ca.pem"        // the CA certificate clients trust
	caKeyFile  = "ca-key.sealed" // the CA key, sealed to the CA's enclave
)

// caKeyAAD binds a sealed blob to its use.
var caKeyAAD = []byte("securecached-ca-key-v1")

const caUsage = `Usage: securecached ca [flags]

Runs the attestation-gated certificate authority: an instance presents
evidence bound to its TLS key and a fresh nonce, and gets a short-lived
certificate chaining to STATE_DIR/ca.pem only if the evidence satisfies
the policy flags (as for "securecached attest"). Point securecached at it
with --ca-url, --ca-cert and --ca-name, and give stock clients ca.pem.

The CA key is sealed to the CA's own enclave (STATE_DIR/ca-key.sealed)
where the backend can seal (sim, sev-snp); elsewhere (tdx, none) it lives
in memory only, and every start makes a new CA certificate.

Flags:
`

// runCA is "securecached ca"; it serves until SIGINT or SIGTERM.
func runCA(args []string, stdout, stderr io.Writer) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	go func() {
		<-sigs
		close(stop)
	}()
	return serveCA(args, stdout, stderr, stop)
}

func serveCA(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	fs := pflag.NewFlagSet("ca", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	pf := addPolicyFlags(fs)
	listen := fs.String("listen", "127.0.0.1:11299", "address to serve HTTPS on")
	stateDir := fs.String("state-dir", "", "where the CA's certificate and sealed key live (default: securecached's state directory)")
	backend := fs.String("backend", trust.BackendSim, "trust backend of the CA's own enclave: sim, sev-snp, tdx, auto, none")
	allowSim := fs.Bool("allow-sim", false, "let --backend auto fall back to sim without TEE hardware")
	names := fs.StringSlice("name", nil, "DNS names and IPs of the CA service's certificate (default: the --listen host)")
	lifetime := fs.Duration("lifetime", ca.DefaultLifetime, "lifetime of issued certificates")
	allowNames := fs.StringSlice("allow-name", nil, "issue only for these DNS names or IPs (\"*.example.com\": one label under it); default any")
	fs.Usage = func() {
		fmt.Fprint(stderr, caUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	v, err := pf.verifier(time.Now)
	if err != nil {
		fmt.Fprintln(stderr, "ca:", err)
		return exitUsage
	}
	dir := *stateDir
	if dir == "" {
		if dir, err = server.DefaultStateDir(); err != nil {
			fmt.Fprintln(stderr, "ca:", err)
			return exitOSErr
		}
	}
	enc, name, err := caEnclave(*backend, *allowSim, dir)
	if err != nil {
		fmt.Fprintln(stderr, "ca:", err)
		return exitOSErr
	}
	key, cert, sealed, err := loadOrCreateCAKey(dir, enc)
	if err != nil {
		fmt.Fprintln(stderr, "ca:", err)
		return exitOSErr
	}
	a, err := ca.New(key, cert, ca.Options{Verifier: v, Lifetime: *lifetime, Names: *allowNames})
	if err != nil {
		fmt.Fprintln(stderr, "ca:", err)
		return exitOSErr
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "ca:", err)
		return exitOSErr
	}
	if len(*names) == 0 {
		host, _, _ := net.SplitHostPort(*listen)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			ln.Close()
			fmt.Fprintf(stderr, "ca: --listen %s names no host: give the names clients reach the CA by with --name\n", *listen)
			return exitUsage
		}
		*names = []string{host}
	}
	tlsCfg, err := a.TLSConfig(*names)
	if err != nil {
		ln.Close()
		fmt.Fprintln(stderr, "ca:", err)
		return exitOSErr
	}
	keyState := "sealed to the CA's " + name + " enclave in " + filepath.Join(dir, caKeyFile)
	if !sealed {
		keyState = "IN MEMORY ONLY: backend " + name + " cannot seal; a restart makes a new CA"
	}
	fmt.Fprintf(stdout, "ca: certificate %s; key %s\n", filepath.Join(dir, caCertFile), keyState)
	fmt.Fprintf(stdout, "ca: listening on https://%s\n", ln.Addr())
	srv := &http.Server{
		Handler:           a.Handler(slog.New(slog.NewTextHandler(stderr, nil))),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case <-stop:
		srv.Close()
		<-done
		return 0
	case err := <-done:
		fmt.Fprintln(stderr, "ca:", err)
		return exitOSErr
	}
}

// caEnclave launches the CA's own enclave on the backend asked for.
func caEnclave(backend string, allowSim bool, dir string) (trust.Enclave, string, error) {
	name, err := auto.Resolve(backend, allowSim, auto.Detect())
	if err != nil {
		return nil, "", err
	}
	var b trust.Backend
	switch name {
	case trust.BackendNone:
		b = trust.NoneBackend{}
	case trust.BackendSim:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", err
		}
		root, err := trust.LoadOrCreateSimRoot(dir)
		if err != nil {
			return nil, "", err
		}
		plat, err := trust.LoadOrCreatePlatform(dir, root)
		if err != nil {
			return nil, "", err
		}
		if b, err = trust.NewSimBackend(plat); err != nil {
			return nil, "", err
		}
	default:
		if b, err = auto.NewHardware(name); err != nil {
			return nil, "", err
		}
	}
	bin, err := trust.ExecutableHash()
	if err != nil {
		return nil, "", err
	}
	e, err := b.Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{BinaryHash: bin, Kind: "ca"}, Signer: server.Signer()})
	return e, name, err
}

// loadOrCreateCAKey unseals the CA key from dir, or creates one, sealing
// it if the enclave can. sealed says whether the key is on disk.
func loadOrCreateCAKey(dir string, e trust.Enclave) (key *ecdsa.PrivateKey, cert *x509.Certificate, sealed bool, err error) {
	keyPath, certPath := filepath.Join(dir, caKeyFile), filepath.Join(dir, caCertFile)
	blob, err := os.ReadFile(keyPath)
	switch {
	case err == nil:
		der, err := e.Unseal(blob, caKeyAAD)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", keyPath, err)
		}
		defer clear(der)
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", keyPath, err)
		}
		key, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, false, fmt.Errorf("%s: key is %T", keyPath, k)
		}
		data, err := os.ReadFile(certPath)
		if err != nil {
			return nil, nil, false, err
		}
		certs, err := trust.ParseCertificatesPEM(data)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", certPath, err)
		}
		if !key.PublicKey.Equal(certs[0].PublicKey) {
			return nil, nil, false, fmt.Errorf("%s does not match the sealed key", certPath)
		}
		return key, certs[0], true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, nil, false, err
	}
	key, cert, err = ca.NewCAKey(filepath.Base(dir), time.Now())
	if err != nil {
		return nil, nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, false, err
	}
	defer clear(der)
	blob, err = e.Seal(trust.SealToMeasurement, der, caKeyAAD)
	switch {
	case err == nil:
		if err := os.WriteFile(keyPath, blob, 0o600); err != nil {
			return nil, nil, false, err
		}
		sealed = true
	case errors.Is(err, trust.ErrSealUnsupported) || errors.Is(err, trust.ErrUntrusted):
		// No key bound to this enclave: keep the key in memory only
		// rather than on disk in the clear.
	default:
		return nil, nil, false, err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		return nil, nil, false, err
	}
	return key, cert, sealed, nil
}
