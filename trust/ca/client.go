package ca

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// Client asks a CA for certificates. It trusts only the CA's certificate
// for the connection to the CA.
type Client struct {
	url  string
	http *http.Client
}

// NewClient returns a client for the CA at url (https://host:port) whose
// certificate is caCert.
func NewClient(url string, caCert *x509.Certificate) *Client {
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &Client{url: url, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}}
}

// Close releases idle connections to the CA.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Obtain gets a certificate for key and names: a nonce from the CA,
// evidence from e binding the key and the nonce, then the request. The
// result carries the chain (leaf, CA) and the key.
func (c *Client) Obtain(ctx context.Context, e trust.Enclave, key *ecdsa.PrivateKey, names []string) (*tls.Certificate, error) {
	var nr nonceResponse
	if err := c.post(ctx, PathNonce, nil, &nr); err != nil {
		return nil, err
	}
	nonce, err := hex.DecodeString(nr.Nonce)
	if err != nil || len(nonce) != 32 {
		return nil, fmt.Errorf("ca: bad nonce from CA")
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "securecached"}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("ca: certificate request: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, err
	}
	ev, err := e.Attest(ReportData(csr.RawSubjectPublicKeyInfo, [32]byte(nonce)))
	if err != nil {
		return nil, fmt.Errorf("ca: attest: %w", err)
	}
	raw, err := ev.Marshal()
	if err != nil {
		return nil, err
	}
	var ir issueResponse
	if err := c.post(ctx, PathIssue, issueRequest{CSR: csrDER, Evidence: raw, Nonce: nr.Nonce}, &ir); err != nil {
		return nil, err
	}
	var cert tls.Certificate
	rest := []byte(ir.Certificate)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		cert.Certificate = append(cert.Certificate, b.Bytes)
	}
	if len(cert.Certificate) == 0 {
		return nil, errors.New("ca: no certificate in the CA's answer")
	}
	if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
		return nil, fmt.Errorf("ca: issued certificate: %w", err)
	}
	if !key.PublicKey.Equal(cert.Leaf.PublicKey) {
		return nil, errors.New("ca: issued certificate is not for our key")
	}
	cert.PrivateKey = key
	return &cert, nil
}

// RefusedError is the CA's refusal, with its reason.
type RefusedError struct {
	Status int
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("ca: refused (HTTP %d): %s", e.Status, e.Reason)
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRequestBody))
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var ir issueResponse
		reason := string(bytes.TrimSpace(data))
		if json.Unmarshal(data, &ir) == nil && ir.Error != "" {
			reason = ir.Error
		}
		return &RefusedError{Status: resp.StatusCode, Reason: reason}
	}
	return json.Unmarshal(data, out)
}

// Renewer keeps a CA-issued certificate for one key current: it obtains
// one at creation and, on a handshake after two thirds of its lifetime,
// a new one. If renewal fails the current certificate is served until it
// expires, and the failure is returned after that. Safe for concurrent
// use; renewal runs in the handshake that finds it due, once.
type Renewer struct {
	c     *Client
	e     trust.Enclave
	key   *ecdsa.PrivateKey
	names []string
	now   func() time.Time

	mu    sync.Mutex
	cert  *tls.Certificate
	due   time.Time // when cert is to be renewed
	err   error     // last renewal failure
	retry time.Time // no renewal attempt before this, after a failure
}

// retryBackoff spaces renewal attempts after a failure, so that an
// unreachable CA does not stall every handshake on its timeout.
const retryBackoff = time.Minute

// NewRenewer obtains a first certificate for a new key from e's enclave.
func NewRenewer(ctx context.Context, c *Client, e trust.Enclave, names []string) (*Renewer, error) {
	key, err := ratls.NewKey()
	if err != nil {
		return nil, err
	}
	r := &Renewer{c: c, e: e, key: key, names: names, now: time.Now}
	if r.cert, err = c.Obtain(ctx, e, key, names); err != nil {
		return nil, err
	}
	r.due = renewAt(r.now(), r.cert.Leaf)
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *Renewer) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	leaf := r.cert.Leaf
	if now.Before(r.due) || (now.Before(r.retry) && now.Before(leaf.NotAfter)) {
		return r.cert, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cert, err := r.c.Obtain(ctx, r.e, r.key, r.names)
	if err == nil {
		r.cert, r.due, r.err = cert, renewAt(now, cert.Leaf), nil
		return cert, nil
	}
	r.err, r.retry = err, now.Add(retryBackoff)
	if now.Before(leaf.NotAfter) {
		return r.cert, nil
	}
	return nil, fmt.Errorf("ca: certificate expired and renewal failed: %w", err)
}

// Current returns the certificate being served and the last renewal
// failure, if any.
func (r *Renewer) Current() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert, r.err
}

// renewAt is two thirds of the way from obtained, when the certificate
// arrived, to its expiry. It is not measured from NotBefore, which the CA
// backdates against clock skew: with a short lifetime that would make
// every handshake renew.
func renewAt(obtained time.Time, c *x509.Certificate) time.Time {
	return obtained.Add(c.NotAfter.Sub(obtained) * 2 / 3)
}
