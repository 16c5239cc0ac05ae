package client

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
	"testing"

	"github.com/securecached/securecached/internal/testcert"
	"github.com/securecached/securecached/internal/testenv"
)

// TestTLSAgainstMemcached talks to memcached's own TLS (-Z), verifying its
// certificate, through a counting dialer: the transport is only a dialer.
func TestTLSAgainstMemcached(t *testing.T) {
	cert := testcert.Write(t)
	srv := testenv.StartMemcached(t, cert.Flags()...)
	var dials atomic.Int32
	var nd net.Dialer
	c := newClient(t, Config{
		Servers: []ServerConfig{{Addr: srv.Addr}},
		// No ServerName: the client verifies the address it dialed.
		TLS: &tls.Config{RootCAs: cert.Pool, MinVersion: tls.VersionTLS12},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nd.DialContext(ctx, network, addr)
		},
	})
	x := ctx(t)
	if err := c.Set(x, &Item{Key: "tls", Value: []byte("secret")}); err != nil {
		t.Fatal(err)
	}
	if it, err := c.Get(x, "tls"); err != nil || string(it.Value) != "secret" {
		t.Fatalf("Get over TLS = %+v, %v", it, err)
	}
	if dials.Load() == 0 {
		t.Error("custom dialer not used")
	}
	// A client that does not trust the certificate must not get through.
	bad := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, TLS: &tls.Config{MinVersion: tls.VersionTLS12}})
	if _, err := bad.Get(x, "tls"); err == nil {
		t.Error("untrusted certificate accepted")
	}
}
