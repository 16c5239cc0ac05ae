package snp

import (
	"bytes"
	"crypto/tls"
	"net"
	"testing"

	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// TestRATLSWithSNPEvidence: an RA-TLS handshake whose server certificate
// carries SNP evidence (fake device and signer), bound to the client's
// nonce, verified by an SNP policy; the same server is refused by a
// policy with another launch digest.
func TestRATLSWithSNPEvidence(t *testing.T) {
	chip := newFakeChip(t)
	g := guest{measurement: Measurement{0xab}}
	e, err := chip.backend(t, g, Options{}).Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "cache"}})
	if err != nil {
		t.Fatal(err)
	}
	srvCfg, err := ratls.ServerConfig(ratls.ServerOptions{Enclave: e})
	if err != nil {
		t.Fatal(err)
	}
	for _, allowed := range []Measurement{g.measurement, {0xcd}} {
		var got *trust.Claims
		cliCfg, err := ratls.ClientConfig(ratls.ClientOptions{
			Verifier: chip.verifier(t, Policy{Measurements: []Measurement{allowed}}, fixedNow),
			Nonce:    true, OnVerified: func(c *trust.Claims) { got = c },
		})
		if err != nil {
			t.Fatal(err)
		}
		a, b := net.Pipe()
		srv := tls.Server(a, srvCfg)
		// Closing the pipe ends, not the TLS connections: a close_notify
		// on an unread synchronous pipe would wait out its timeout.
		go func() { _ = srv.Handshake(); a.Close() }()
		cli := tls.Client(b, cliCfg)
		err = cli.Handshake()
		b.Close()
		if ok := allowed == g.measurement; ok != (err == nil) {
			t.Fatalf("allowed %x: handshake err = %v", allowed[:1], err)
		}
		if err == nil && (got == nil || got.Hardware == nil || !bytes.Equal(got.Hardware.Measurement, g.measurement[:])) {
			t.Fatalf("claims %+v", got)
		}
	}
}
