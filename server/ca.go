package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/diggi/link"
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
	client, _, err := caClient(o.URL, o.Cert)
	if err != nil {
		return nil, err
	}
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

// caClient is a client of the CA at url whose certificate is in the PEM
// file certFile, and that certificate.
func caClient(url, certFile string) (*ca.Client, *x509.Certificate, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	certs, err := trust.ParseCertificatesPEM(data)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate %s: %w", certFile, err)
	}
	return ca.NewClient(url, certs[0]), certs[0], nil
}

// linkCA attests the link enclave e's key to the cluster's CA and returns
// the links' CA configuration: the certificate issued for the instance's
// name, renewed before it expires, and the CA's root for peers.
func linkCA(o *cluster.CAConfig, e trust.Enclave, instance string) (*link.CA, error) {
	if e == nil || !e.Trusted() {
		return nil, errors.New("cluster: CA-issued link certificates need a trusted backend (the CA attests the instance)")
	}
	client, root, err := caClient(o.URL, o.Cert)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := ca.NewRenewer(ctx, client, e, []string{instance})
	if err != nil {
		return nil, fmt.Errorf("cluster: link certificate for %s: %w", instance, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	return &link.CA{Roots: roots, Certificate: func() (*tls.Certificate, error) { return r.GetCertificate(nil) }}, nil
}
