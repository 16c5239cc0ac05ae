package cacheagent

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testcert"
	"github.com/securecached/securecached/internal/testwire"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// tlsRoundTrips runs a short session over a TLS client connection.
func tlsRoundTrips(t *testing.T, st *stack, cfg *tls.Config, value string) error {
	t.Helper()
	tc := tls.Client(st.dial(t), cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return err
	}
	r := bufio.NewReader(tc)
	testwire.Exchange(t, tc, r, "set secret 0 0 "+itoa(len(value))+"\r\n"+value+"\r\n", "STORED\r\n")
	testwire.Exchange(t, tc, r, "get secret\r\n", "VALUE secret 0 "+itoa(len(value))+"\r\n"+value+"\r\nEND\r\n")
	return tc.Close()
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestCacheAgentTLSWithConfiguredCertificate(t *testing.T) {
	cert := testcert.Write(t)
	for _, m := range trustModes {
		t.Run(m.name, func(t *testing.T) {
			st := newStack(t, stackOptions{trusted: m.trusted, tls: true,
				args: "-o ssl_chain_cert=" + cert.Cert + ",ssl_key=" + cert.Key})
			if !st.agent.TLS() {
				t.Fatal("agent does not serve TLS")
			}
			if err := tlsRoundTrips(t, st, &tls.Config{RootCAs: cert.Pool, ServerName: testcert.ServerName}, "hello"); err != nil {
				t.Fatal(err)
			}
			// A client that does not trust the certificate is refused.
			if err := tlsRoundTrips(t, st, &tls.Config{ServerName: testcert.ServerName}, "x"); err == nil {
				t.Fatal("handshake with an untrusted certificate succeeded")
			}
		})
	}
}

func TestCacheAgentRATLS(t *testing.T) {
	st := newStack(t, stackOptions{trusted: true, tls: true})
	signer := trust.SignerFromKey([]byte("test"))
	tests := []struct {
		name    string
		policy  trust.Policy
		nonce   bool
		wantErr error
	}{
		{"sim allowed", trust.Policy{Signers: []trust.Signer{signer}, AllowSimulated: true, SimRoots: simRoots(st)}, false, nil},
		{"sim allowed with nonce", trust.Policy{Signers: []trust.Signer{signer}, AllowSimulated: true, SimRoots: simRoots(st)}, true, nil},
		{"sim refused by default", trust.Policy{Signers: []trust.Signer{signer}}, false, trust.ErrSimulatedRefused},
		{"wrong signer", trust.Policy{Signers: []trust.Signer{trust.SignerFromKey([]byte("other"))}, AllowSimulated: true, SimRoots: simRoots(st)}, false, trust.ErrSignerNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := trust.NewVerifier(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			var claims *trust.Claims
			cfg, err := ratls.ClientConfig(ratls.ClientOptions{Verifier: v, Nonce: tc.nonce, OnVerified: func(c *trust.Claims) { claims = c }})
			if err != nil {
				t.Fatal(err)
			}
			err = tlsRoundTrips(t, st, cfg, "ratls")
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if claims == nil || !claims.Simulated {
					t.Fatalf("claims = %+v, want simulated evidence", claims)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func simRoots(st *stack) []*x509.Certificate { return []*x509.Certificate{st.root.Certificate()} }

// TestCacheAgentTLSCanary proves that with TLS a value never crosses the
// router in the clear, and (control) that the tap would have seen it
// without TLS.
func TestCacheAgentTLSCanary(t *testing.T) {
	cert := testcert.Write(t)
	const canary = "CANARY-4f1e9b2d-value-that-must-stay-inside"
	for _, tc := range []struct {
		name     string
		tls      bool
		wantSeen bool
	}{{"tls", true, false}, {"plaintext control", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen bool
			tap := diggi.RouterFunc(func(m *diggi.Message, f diggi.Forwarder) {
				if bytes.Contains(m.Payload(), []byte(canary)) {
					mu.Lock()
					seen = true
					mu.Unlock()
				}
				f.Forward(m)
			})
			// Untrusted on both ends with plaintext allowed: only TLS
			// protects the value here, which is what the test isolates.
			st := newStack(t, stackOptions{tls: tc.tls, router: tap,
				args: "-o ssl_chain_cert=" + cert.Cert + ",ssl_key=" + cert.Key})
			if tc.tls {
				if err := tlsRoundTrips(t, st, &tls.Config{RootCAs: cert.Pool, ServerName: testcert.ServerName}, canary); err != nil {
					t.Fatal(err)
				}
			} else {
				c := st.dial(t)
				r := bufio.NewReader(c)
				testwire.Exchange(t, c, r, "set secret 0 0 "+itoa(len(canary))+"\r\n"+canary+"\r\n", "STORED\r\n")
			}
			mu.Lock()
			defer mu.Unlock()
			if seen != tc.wantSeen {
				t.Fatalf("canary seen by the router tap = %v, want %v", seen, tc.wantSeen)
			}
		})
	}
}

// TestCacheAgentTLSBackpressureAndYields drives the evented TLS session
// through its pauses: replies larger than the window (output held back,
// input paused) and -R yields with a pipeline buffered inside crypto/tls.
func TestCacheAgentTLSBackpressureAndYields(t *testing.T) {
	cert := testcert.Write(t)
	st := newStack(t, stackOptions{trusted: true, tls: true,
		args: "-R 1 -I 2m -o ssl_chain_cert=" + cert.Cert + ",ssl_key=" + cert.Key})
	tc := tls.Client(st.dial(t), &tls.Config{RootCAs: cert.Pool, ServerName: testcert.ServerName})
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(tc)
	val := bytes.Repeat([]byte("0123456789"), 150_000)
	testwire.Exchange(t, tc, r, "set big 0 0 "+itoa(len(val))+"\r\n"+string(val)+"\r\n", "STORED\r\n")
	testwire.Exchange(t, tc, r, "set k 0 0 1\r\nx\r\n", "STORED\r\n")
	// One write: 4 big gets and 100 small ones, all yielding at -R 1.
	req := bytes.Repeat([]byte("get big\r\n"), 4)
	req = append(req, bytes.Repeat([]byte("get k\r\n"), 100)...)
	if _, err := tc.Write(req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the agent fill the window
	hdr := "VALUE big 0 " + itoa(len(val)) + "\r\n"
	for range 4 {
		got := make([]byte, len(hdr)+len(val)+len("\r\nEND\r\n"))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[len(hdr):len(hdr)+len(val)], val) {
			t.Fatal("big value damaged")
		}
	}
	small := bytes.Repeat([]byte("VALUE k 0 1\r\nx\r\nEND\r\n"), 100)
	got := make([]byte, len(small))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("small replies: %v", err)
	}
	// Idle again, the session gives back the record buffer the big
	// replies grew.
	testwire.Exchange(t, tc, r, "version\r\n", "VERSION "+conn.DefaultVersion+"\r\n")
	var held []int
	if err := st.agent.ctx.Scheduler().Run(func() {
		for _, s := range st.agent.sessions {
			held = append(held, cap(s.rl.(*tlsRecords).sc.pending))
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held[0] > maxIdlePending {
		t.Fatalf("idle TLS sessions hold record buffers of %v bytes, bound %d", held, maxIdlePending)
	}
}

// TestCacheAgentTLSClientsVanish: clients that drop mid-handshake or
// mid-request leave nothing behind.
func TestCacheAgentTLSClientsVanish(t *testing.T) {
	cert := testcert.Write(t)
	st := newStack(t, stackOptions{tls: true, args: "-o ssl_chain_cert=" + cert.Cert + ",ssl_key=" + cert.Key})
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := st.dial(t)
			switch i % 3 {
			case 0: // garbage instead of a ClientHello
				c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
				c.Close()
			case 1: // handshake, half a request, gone
				tc := tls.Client(c, &tls.Config{RootCAs: cert.Pool, ServerName: testcert.ServerName})
				tc.SetDeadline(time.Now().Add(10 * time.Second))
				if tc.Handshake() == nil {
					tc.Write([]byte("set x 0 0 100\r\nabc"))
				}
				c.Close()
			default: // connect and leave
				c.Close()
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for st.agent.CurrConnections() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d TLS sessions still open", st.agent.CurrConnections())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tlsRoundTrips(t, st, &tls.Config{RootCAs: cert.Pool, ServerName: testcert.ServerName}, "still serving"); err != nil {
		t.Fatal(err)
	}
}
