package ratls

import (
	"crypto/tls"
	"net"
	"testing"
)

// BenchmarkRATLSHandshakeNonce measures one attested TLS 1.3 handshake over
// loopback with a client nonce: the server attests a fresh certificate for
// the nonce, the client verifies the evidence.
func BenchmarkRATLSHandshakeNonce(b *testing.B) {
	w := newWorld(b)
	cache := w.enclave(b, "cache")
	server, err := ServerConfig(ServerOptions{Enclave: cache})
	if err != nil {
		b.Fatal(err)
	}
	v := w.verifier(b, true, nil, cache)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s := tls.Server(c, server)
			_ = s.Handshake()
			s.Close()
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := ClientConfig(ClientOptions{Verifier: v, Nonce: true})
		if err != nil {
			b.Fatal(err)
		}
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
