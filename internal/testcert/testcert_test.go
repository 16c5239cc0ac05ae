package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"
)

// TestWriteServesVerifiableTLS: the files load as a key pair, and a client
// trusting Pool completes a handshake for ServerName and refuses another name.
func TestWriteServesVerifiableTLS(t *testing.T) {
	f := Write(t)
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		client  *tls.Config
		wantErr bool
	}{
		{"trusted", &tls.Config{RootCAs: f.Pool, ServerName: ServerName}, false},
		{"wrong name", &tls.Config{RootCAs: f.Pool, ServerName: "example.com"}, true},
		{"system roots", &tls.Config{RootCAs: x509.NewCertPool(), ServerName: ServerName}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Kernel sockets, not net.Pipe: a refusing client's alert
			// must not wait for the server to read.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				tls.Server(c, &tls.Config{Certificates: []tls.Certificate{pair}}).Handshake()
			}()
			c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			err = tls.Client(c, tt.client).Handshake()
			c.Close()
			<-done
			if (err != nil) != tt.wantErr {
				t.Errorf("handshake error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	f := Files{Cert: "/c.pem", Key: "/k.pem"}
	got := f.Flags()
	want := []string{"-Z", "-o", "ssl_chain_cert=/c.pem,ssl_key=/k.pem"}
	if len(got) != len(want) {
		t.Fatalf("Flags() = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Flags() = %q, want %q", got, want)
		}
	}
}
