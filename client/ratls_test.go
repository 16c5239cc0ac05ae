package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// securecachedSigner is server.Signer(): trust.SignerFromKey of
// server.SignerKey. Spelled out because this package must never import
// the server.
var securecachedSigner = trust.SignerFromKey([]byte("securecached"))

// raTLSVerifier accepts the simulated evidence of a securecached started
// with --state-dir state.
func raTLSVerifier(t *testing.T, state string) *trust.Verifier {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(state, trust.SimRootFile))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := trust.ParseCertificatesPEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	v, err := trust.NewVerifier(trust.Policy{Signers: []trust.Signer{securecachedSigner}, AllowSimulated: true, SimRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// heldConn can hold what it reads: while its gate is locked, bytes that
// arrive stay with the reader, so the calls they answer stay in flight.
type heldConn struct {
	net.Conn
	gate sync.RWMutex
}

func (c *heldConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.gate.RLock()
	c.gate.RUnlock()
	return n, err
}

// connRecorder is a Dial that keeps every connection it opens.
type connRecorder struct {
	mu    sync.Mutex
	conns []*heldConn
}

func (r *connRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	hc := &heldConn{Conn: nc}
	r.mu.Lock()
	r.conns = append(r.conns, hc)
	r.mu.Unlock()
	return hc, nil
}

func (r *connRecorder) conn(i int) *heldConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[i]
}

func (r *connRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// TestNewTLSFreshRATLSNoncePerConnection: against securecached -Z, every
// connection the client opens (a second one for concurrent calls, and a
// new one after both were lost) gets a configuration of its own from
// NewTLS with a fresh RA-TLS nonce, and its handshake verifies evidence
// made for that nonce. The same nonce configuration given as Config.TLS
// serves one connection only, which is why NewTLS exists.
func TestNewTLSFreshRATLSNoncePerConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds securecached")
	}
	state := t.TempDir()
	srv := testenv.StartSecurecached(t, "-Z", "--state-dir", state)
	v := raTLSVerifier(t, state)

	var (
		mu       sync.Mutex
		names    []string // the nonce server name of each configuration made
		verified int      // handshakes whose evidence verified
	)
	onVerified := func(c *trust.Claims) {
		mu.Lock()
		defer mu.Unlock()
		if c.Simulated && c.Signer == securecachedSigner {
			verified++
		}
	}
	newTLS := func(addr string) (*tls.Config, error) {
		if addr != srv.Addr {
			return nil, errors.New("NewTLS called for " + addr + ", want " + srv.Addr)
		}
		cfg, err := ratls.ClientConfig(ratls.ClientOptions{Verifier: v, Nonce: true, OnVerified: onVerified})
		if err == nil {
			mu.Lock()
			names = append(names, cfg.ServerName)
			mu.Unlock()
		}
		return cfg, err
	}
	check := func(wantConns int) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(names) != wantConns || verified != wantConns {
			t.Fatalf("%d configurations made, %d handshakes verified, want %d of each", len(names), verified, wantConns)
		}
		seen := map[string]bool{}
		for _, n := range names {
			if _, ok := ratls.ParseNonceServerName(n); !ok || seen[n] {
				t.Fatalf("server names %q: want a distinct nonce each", names)
			}
			seen[n] = true
		}
	}

	var rec connRecorder
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, NewTLS: newTLS, Dial: rec.dial, MaxConnsPerServer: 2})
	x := ctx(t)
	if err := c.Set(x, &Item{Key: "k", Value: []byte("attested")}); err != nil {
		t.Fatal(err)
	}
	check(1)

	// Two calls at once: while the first connection holds the first
	// call's reply, the second call finds it busy and opens another.
	rec.conn(0).gate.Lock()
	first, err := c.GetAsync(x, "k")
	if err != nil {
		rec.conn(0).gate.Unlock()
		t.Fatal(err)
	}
	second, err := c.GetAsync(x, "k")
	if err == nil {
		var it *Item
		it, err = second.Wait(x)
		if err == nil && string(it.Value) != "attested" {
			t.Errorf("second connection got %q", it.Value)
		}
	}
	rec.conn(0).gate.Unlock()
	if err != nil {
		t.Fatalf("call on the second connection: %v", err)
	}
	if it, err := first.Wait(x); err != nil || string(it.Value) != "attested" {
		t.Fatalf("call on the first connection = %+v, %v", it, err)
	}
	if rec.count() != 2 {
		t.Fatalf("%d connections, want 2", rec.count())
	}
	check(2)

	// Lose both connections; the next call reconnects with a new nonce.
	s := c.servers[0]
	s.mu.Lock()
	pooled := append([]*conn(nil), s.conns...)
	s.mu.Unlock()
	for i := range rec.count() {
		rec.conn(i).Conn.Close()
	}
	for _, cn := range pooled {
		<-cn.done // the reader saw the loss, so the pool will not pick it
	}
	if it, err := c.Get(x, "k"); err != nil || string(it.Value) != "attested" {
		t.Fatalf("Get after reconnecting = %+v, %v", it, err)
	}
	if rec.count() != 3 {
		t.Fatalf("%d connections, want 3", rec.count())
	}
	check(3)

	// One nonce configuration shared by every connection: the first
	// handshake passes, the next is refused as a reused nonce.
	shared, err := ratls.ClientConfig(ratls.ClientOptions{Verifier: v, Nonce: true})
	if err != nil {
		t.Fatal(err)
	}
	var rec2 connRecorder
	once := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, TLS: shared, Dial: rec2.dial})
	if _, err := once.Get(x, "k"); err != nil {
		t.Fatalf("first connection with a shared nonce config: %v", err)
	}
	rec2.conn(0).Conn.Close()
	once.servers[0].mu.Lock()
	lost := once.servers[0].conns[0]
	once.servers[0].mu.Unlock()
	<-lost.done
	if _, err := once.Get(x, "k"); err == nil || !strings.Contains(err.Error(), ratls.ErrNonceReused.Error()) {
		t.Errorf("second connection with a shared nonce config: %v, want %v", err, ratls.ErrNonceReused)
	}
}

// TestNewTLSErrors: NewTLS failing, or returning no configuration, fails
// the call with that error before anything is dialed, and does not count
// against the server; TLS and NewTLS together are refused by New.
func TestNewTLSErrors(t *testing.T) {
	errNoEntropy := errors.New("no entropy for a nonce")
	tests := []struct {
		name   string
		newTLS func(string) (*tls.Config, error)
		want   func(error) bool
	}{
		{"error", func(string) (*tls.Config, error) { return nil, errNoEntropy },
			func(err error) bool { return errors.Is(err, errNoEntropy) }},
		{"no config", func(string) (*tls.Config, error) { return nil, nil },
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "NewTLS returned none") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec connRecorder
			c := newClient(t, Config{Servers: []ServerConfig{{Addr: silentServer(t)}}, NewTLS: tc.newTLS, Dial: rec.dial,
				FailureLimit: 1, RetryBackoff: time.Hour})
			x := ctx(t)
			// Twice: with FailureLimit 1 a failure charged to the server
			// would turn the second error into ErrServerDead.
			for range 2 {
				if err := c.Set(x, &Item{Key: "k", Value: []byte("v")}); !tc.want(err) {
					t.Fatalf("Set: %v", err)
				}
			}
			if _, err := c.GetMulti(x, []string{"a", "b"}); !tc.want(err) {
				t.Errorf("GetMulti: %v", err)
			}
			if n := rec.count(); n != 0 {
				t.Errorf("%d connections dialed", n)
			}
			if c.servers[0].dead(time.Now()) {
				t.Error("server marked dead for the client's own TLS failure")
			}
		})
	}
	_, err := New(Config{Servers: []ServerConfig{{Addr: "127.0.0.1:1"}}, TLS: &tls.Config{},
		NewTLS: func(string) (*tls.Config, error) { return &tls.Config{}, nil }})
	if err == nil || !strings.Contains(err.Error(), "NewTLS") {
		t.Errorf("New with TLS and NewTLS: %v", err)
	}
}
