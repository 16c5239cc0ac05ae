package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/gateway"
	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

// testLayout is a gateway on a free port in front of one cache agent.
func testLayout(dir string, trusted, tls bool) Layout {
	cache := diggi.Options{}
	if tls {
		cache[cacheagent.OptTLS] = "true"
	}
	backend := BackendSim
	if !trusted {
		backend = BackendNone
	}
	return Layout{
		Diggi: diggi.Config{Instance: "test", Agents: []diggi.AgentConfig{
			{Name: "cache", Kind: cacheagent.Kind, Trusted: trusted, Options: cache},
			{Name: "gateway", Kind: gateway.Kind, Options: diggi.Options{gateway.OptListen: "127.0.0.1:0"}},
		}},
		Trust: TrustOptions{Backend: backend, StateDir: dir},
	}
}

func start(t *testing.T, l Layout, o Options) *Deployment {
	t.Helper()
	var log bytes.Buffer
	if o.Log == nil {
		o.Log = &log
	}
	d, err := Start(l, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Shutdown()
		<-d.Done()
	})
	return d
}

func TestDeploymentServesAndReportsBackend(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprint("trusted=", trusted), func(t *testing.T) {
			dir := t.TempDir()
			var log testenv.SyncBuffer
			d := start(t, testLayout(dir, trusted, false), Options{Log: &log})
			c, err := net.Dial("tcp", d.Addrs()[0].String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "set k 0 0 1\r\nx\r\nget k\r\n")
			want := "STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n"
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
				t.Fatalf("got %q, %v", got, err)
			}
			banner := log.String()
			if trusted {
				if !strings.Contains(banner, "trust backend: sim") || !strings.Contains(banner, "SIMULATION") || !strings.Contains(banner, dir) {
					t.Fatalf("banner does not say sim, simulation and the state dir:\n%s", banner)
				}
				if _, err := os.Stat(filepath.Join(dir, trust.PlatformFile)); err != nil {
					t.Fatalf("platform identity not in the state dir: %v", err)
				}
			} else if !strings.Contains(banner, "trust backend: none") {
				t.Fatalf("banner: %s", banner)
			}
		})
	}
}

// TestDeploymentRATLSAndCanary: a value written over TLS is never visible
// to the gateway (tap) or the router, and the client verifies the sim
// evidence against the state directory's root.
func TestDeploymentRATLSAndCanary(t *testing.T) {
	const canary = "CANARY-7e3c-written-over-tls"
	var mu sync.Mutex
	var leaks []string
	tap := func(_ gateway.Direction, p []byte) {
		if bytes.Contains(p, []byte(canary)) {
			mu.Lock()
			leaks = append(leaks, "gateway")
			mu.Unlock()
		}
	}
	router := diggi.RouterFunc(func(m *diggi.Message, f diggi.Forwarder) {
		if bytes.Contains(m.Payload(), []byte(canary)) {
			mu.Lock()
			leaks = append(leaks, "router")
			mu.Unlock()
		}
		f.Forward(m)
	})
	d := start(t, testLayout(t.TempDir(), true, true), Options{GatewayTap: tap, Router: router})
	for _, tc := range []struct {
		name    string
		policy  trust.Policy
		wantErr error
	}{
		{"refuses simulated evidence by default", trust.Policy{Signers: []trust.Signer{Signer()}}, trust.ErrSimulatedRefused},
		{"accepts it when told", trust.Policy{Signers: []trust.Signer{Signer()}, AllowSimulated: true, SimRoots: []*x509.Certificate{d.SimRoot()}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := trust.NewVerifier(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ratls.ClientConfig(ratls.ClientOptions{Verifier: v, Nonce: true})
			if err != nil {
				t.Fatal(err)
			}
			c, err := tls.Dial("tcp", d.Addrs()[0].String(), cfg)
			if tc.wantErr != nil {
				if err == nil {
					c.Close()
				}
				if err == nil || !strings.Contains(err.Error(), tc.wantErr.Error()) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(c, "set s 0 0 %d\r\n%s\r\nget s\r\n", len(canary), canary)
			r := bufio.NewReader(c)
			want := fmt.Sprintf("STORED\r\nVALUE s 0 %d\r\n%s\r\nEND\r\n", len(canary), canary)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaks) > 0 {
		t.Fatalf("canary seen by %v", leaks)
	}
}

func TestDeploymentKeepsPlatformIdentity(t *testing.T) {
	dir := t.TempDir()
	d1 := start(t, testLayout(dir, true, false), Options{})
	root1 := d1.SimRoot()
	d1.Shutdown()
	<-d1.Done()
	d2 := start(t, testLayout(dir, true, false), Options{})
	if !root1.Equal(d2.SimRoot()) {
		t.Fatal("a restart with the same state directory made a new sim root")
	}
}

// TestDeploymentVerboseLogging: -vvv logs connections and request lines,
// as memcached does.
func TestDeploymentVerboseLogging(t *testing.T) {
	var log testenv.SyncBuffer
	l := testLayout(t.TempDir(), false, false)
	l.Diggi.Agents[0].Options[cacheagent.OptArgs] = "-vvv"
	d := start(t, l, Options{Log: &log, Verbose: 3})
	c, err := net.Dial("tcp", d.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "get some_key\r\n")
	got := make([]byte, len("END\r\n"))
	io.ReadFull(c, got)
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "connection closed.") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"new auto-negotiating client connection", "get some_key", "connection closed."} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("-vvv log lacks %q:\n%s", want, log.String())
		}
	}
}
