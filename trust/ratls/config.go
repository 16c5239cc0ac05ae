package ratls

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/securecached/securecached/trust"
)

// ErrNonceReused means a nonce-carrying client configuration was used for
// a second connection; each connection needs a fresh nonce.
var ErrNonceReused = errors.New("ratls: client nonce already used: make one config per connection")

// certSource keeps a TLS key and its nonce-less certificate, renewing the
// certificate before its evidence grows too old for verifiers.
type certSource struct {
	enclave    trust.Enclave
	key        *ecdsa.PrivateKey
	renewAfter time.Duration

	mu     sync.Mutex
	cert   *tls.Certificate
	issued time.Time
}

func newCertSource(enclave trust.Enclave, renewAfter time.Duration) (*certSource, error) {
	if enclave == nil || !enclave.Trusted() {
		return nil, fmt.Errorf("ratls: %w", trust.ErrUntrusted)
	}
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	if renewAfter <= 0 {
		renewAfter = trust.DefaultMaxAge / 2
	}
	s := &certSource{enclave: enclave, key: key, renewAfter: renewAfter}
	if _, err := s.current(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *certSource) current() (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil && time.Since(s.issued) < s.renewAfter {
		return s.cert, nil
	}
	c, err := NewCertificate(s.enclave, s.key, [32]byte{}, "")
	if err != nil {
		return nil, err
	}
	s.cert, s.issued = &c, time.Now()
	return s.cert, nil
}

// ServerOptions configure ServerConfig.
type ServerOptions struct {
	// Enclave attests the server; it must be trusted.
	Enclave trust.Enclave
	// ClientVerifier, if set, requires clients to present attested
	// certificates satisfying it (mutual RA-TLS, for instance links).
	ClientVerifier *trust.Verifier
	// RenewAfter is how long a nonce-less certificate is served before
	// fresh evidence is made (default half of trust.DefaultMaxAge).
	RenewAfter time.Duration
	NextProtos []string
}

// ServerConfig returns a TLS 1.3 server configuration whose certificates
// carry evidence from opts.Enclave. A client that sends a nonce server
// name gets a certificate made for that nonce.
func ServerConfig(opts ServerOptions) (*tls.Config, error) {
	src, err := newCertSource(opts.Enclave, opts.RenewAfter)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: opts.NextProtos,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if nonce, ok := ParseNonceServerName(hello.ServerName); ok {
				c, err := NewCertificate(src.enclave, src.key, nonce, hello.ServerName)
				if err != nil {
					return nil, err
				}
				return &c, nil
			}
			return src.current()
		},
	}
	if v := opts.ClientVerifier; v != nil {
		cfg.ClientAuth = tls.RequireAnyClientCert
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrNoPeerCert
			}
			_, err := VerifyCertificate(v, cs.PeerCertificates[0], [32]byte{})
			return err
		}
	}
	return cfg, nil
}

// ClientOptions configure ClientConfig.
type ClientOptions struct {
	// Verifier decides which servers to accept. Required.
	Verifier *trust.Verifier
	// Nonce makes the server prove freshness by binding a random nonce
	// the client sends in the server name. The config then serves one
	// connection only.
	Nonce bool
	// Enclave, if set (and trusted), presents an attested client
	// certificate for servers that require one.
	Enclave trust.Enclave
	// OnVerified, if set, receives the server's verified claims.
	OnVerified func(*trust.Claims)
	NextProtos []string
}

// ClientConfig returns a TLS 1.3 client configuration that accepts a
// server only if its certificate's evidence satisfies opts.Verifier. It
// replaces CA verification (there is no CA) with evidence verification.
func ClientConfig(opts ClientOptions) (*tls.Config, error) {
	if opts.Verifier == nil {
		return nil, fmt.Errorf("ratls: client config needs a verifier")
	}
	var nonce [32]byte
	var used sync.Once
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: opts.NextProtos,
		// Chain verification is replaced, not skipped: VerifyConnection
		// below runs on every handshake and checks the evidence.
		InsecureSkipVerify: true,
	}
	if opts.Nonce {
		if _, err := rand.Read(nonce[:]); err != nil {
			return nil, fmt.Errorf("ratls: nonce: %w", err)
		}
		cfg.ServerName = NonceServerName(nonce)
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if opts.Nonce {
			first := false
			used.Do(func() { first = true })
			if !first {
				return ErrNonceReused
			}
		}
		if len(cs.PeerCertificates) == 0 {
			return ErrNoPeerCert
		}
		claims, err := VerifyCertificate(opts.Verifier, cs.PeerCertificates[0], nonce)
		if err != nil {
			return err
		}
		if opts.OnVerified != nil {
			opts.OnVerified(claims)
		}
		return nil
	}
	if opts.Enclave != nil {
		src, err := newCertSource(opts.Enclave, 0)
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return src.current()
		}
	}
	return cfg, nil
}
