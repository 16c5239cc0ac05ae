package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ca"
)

// CAOptions name the attestation-gated CA (securecached ca) whose
// certificates trusted cache agents serve on their -Z listeners, so that
// stock TLS clients can verify them.
type CAOptions struct {
	// URL is the CA's address (https://host:port).
	URL string `json:"url"`
	// Cert is a PEM file with the CA's certificate (its ca.pem).
	Cert string `json:"cert"`
	// Names are the DNS names and IP addresses to ask certificates for.
	Names []string `json:"names"`
}

func (o *CAOptions) validate() error {
	if o.URL == "" || o.Cert == "" || len(o.Names) == 0 {
		return errors.New("a CA needs url, cert and at least one name")
	}
	return nil
}

// caCertificates returns the cache agents' certificate source: for each
// trusted agent, a renewer that attests the agent's TLS key to the CA.
func (d *Deployment) caCertificates(o *CAOptions) (func(diggi.Info) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error), error) {
	data, err := os.ReadFile(o.Cert)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	certs, err := trust.ParseCertificatesPEM(data)
	if err != nil {
		return nil, fmt.Errorf("CA certificate %s: %w", o.Cert, err)
	}
	client := ca.NewClient(o.URL, certs[0])
	return func(info diggi.Info) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
		e, err := d.factory.Enclave(info)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := ca.NewRenewer(ctx, client, e, o.Names)
		if err != nil {
			return nil, err
		}
		return r.GetCertificate, nil
	}, nil
}
