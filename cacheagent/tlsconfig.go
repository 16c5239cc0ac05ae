package cacheagent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/securecached/securecached/trust/ratls"
)

// ErrNoCertificate means -Z was asked of an agent that has neither a
// configured certificate nor an enclave to attest one.
var ErrNoCertificate = errors.New("cacheagent: -Z needs ssl_chain_cert and ssl_key, or a trusted agent with an enclave for RA-TLS")

// serverTLSConfig builds the agent's TLS configuration from memcached's
// ssl_* options. Without ssl_chain_cert a trusted agent attests its own
// certificate (RA-TLS): a client that verifies the evidence knows it talks
// to this code in an enclave, not just to whoever holds a key.
func (a *Agent) serverTLSConfig() (*tls.Config, error) {
	e := &a.as.set.Extended
	var cfg *tls.Config
	switch {
	case e.SSLChainCert != "" || e.SSLKey != "":
		if e.SSLChainCert == "" || e.SSLKey == "" {
			return nil, fmt.Errorf("-Z: ssl_chain_cert and ssl_key must be given together")
		}
		if e.SSLKeyFormat != "" && e.SSLKeyFormat != "PEM" {
			return nil, fmt.Errorf("-Z: ssl_keyformat %q: only PEM is supported", e.SSLKeyFormat)
		}
		cert, err := tls.LoadX509KeyPair(e.SSLChainCert, e.SSLKey)
		if err != nil {
			return nil, fmt.Errorf("-Z: load certificate: %w", err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}}
	case a.ctx.Trusted() && a.hooks.Certificates != nil:
		get, err := a.hooks.Certificates(a.ctx.Info())
		if err != nil {
			return nil, fmt.Errorf("-Z: CA-issued certificate: %w", err)
		}
		cfg = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: get}
	case a.ctx.Trusted() && a.hooks.Enclave != nil:
		enc, err := a.hooks.Enclave(a.ctx.Info())
		if err != nil {
			return nil, fmt.Errorf("-Z: enclave for RA-TLS: %w", err)
		}
		if cfg, err = ratls.ServerConfig(ratls.ServerOptions{Enclave: enc}); err != nil {
			return nil, fmt.Errorf("-Z: RA-TLS: %w", err)
		}
	default:
		return nil, ErrNoCertificate
	}
	// ssl_min_version may raise the floor, never lower it (RA-TLS is
	// TLS 1.3 only).
	if v := tlsVersion(e.SSLMinVersion); v > cfg.MinVersion {
		cfg.MinVersion = v
	}
	if err := clientAuth(cfg, e.SSLVerifyMode, e.SSLCACert); err != nil {
		return nil, err
	}
	return cfg, nil
}

// tlsVersion maps ssl_min_version (0 tlsv1.0 .. 3 tlsv1.3).
func tlsVersion(v int) uint16 {
	switch v {
	case 0:
		return tls.VersionTLS10
	case 1:
		return tls.VersionTLS11
	case 3:
		return tls.VersionTLS13
	default:
		return tls.VersionTLS12
	}
}

// clientAuth applies ssl_verify_mode and ssl_ca_cert as memcached does:
// 0 none, 1 request (verify if sent), 2 require, 3 once (per session: TLS
// resumption keeps the first verification, which Go's default does).
func clientAuth(cfg *tls.Config, mode int, caFile string) error {
	if mode == 0 {
		return nil
	}
	if caFile == "" {
		return fmt.Errorf("-Z: ssl_verify_mode=%d needs ssl_ca_cert", mode)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("-Z: ssl_ca_cert: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("-Z: ssl_ca_cert %s: no PEM certificates", caFile)
	}
	cfg.ClientCAs = pool
	if mode == 1 {
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	} else {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return nil
}
