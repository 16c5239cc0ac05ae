package integration

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testcert"
	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
	"github.com/securecached/securecached/server"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

func tlsExchange(t *testing.T, s *testenv.Server, cfg *tls.Config, value string) {
	t.Helper()
	c := tls.Client(s.Dial(t), cfg)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	testwire.Exchange(t, c, r, fmt.Sprintf("set k 0 0 %d\r\n%s\r\n", len(value), value), "STORED\r\n")
	testwire.Exchange(t, c, r, "get k\r\n", fmt.Sprintf("VALUE k 0 %d\r\n%s\r\nEND\r\n", len(value), value))
	testwire.Exchange(t, c, r, "stats settings\r\n", "STAT maxbytes ")
}

// TestTLSConfiguredCertificate: memcached's -Z with ssl_chain_cert and
// ssl_key, against both servers and both trust modes.
func TestTLSConfiguredCertificate(t *testing.T) {
	f := testcert.Write(t)
	bothServers(t, f.Flags(), func(t *testing.T, s *testenv.Server) {
		tlsExchange(t, s, &tls.Config{RootCAs: f.Pool, ServerName: testcert.ServerName}, "over tls")
		// A client that does not trust the certificate is refused.
		c := tls.Client(s.Dial(t), &tls.Config{ServerName: testcert.ServerName})
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.Handshake(); err == nil {
			t.Fatal("handshake succeeded with an unknown certificate")
		}
	})
}

// TestTLSRATLS: a trusted cache agent without a configured certificate
// attests its own. Clients refuse simulated evidence unless told, and
// accept it with the state directory's sim root.
func TestTLSRATLS(t *testing.T) {
	state := t.TempDir()
	s := testenv.StartSecurecached(t, "-Z", "--state-dir", state)
	root := simRootFrom(t, state)
	tests := []struct {
		name    string
		policy  trust.Policy
		wantErr error
	}{
		{"default refuses simulated evidence", trust.Policy{Signers: []trust.Signer{server.Signer()}}, trust.ErrSimulatedRefused},
		{"wrong signer", trust.Policy{Signers: []trust.Signer{trust.SignerFromKey([]byte("other"))}, AllowSimulated: true, SimRoots: root}, trust.ErrSignerNotAllowed},
		{"simulated allowed", trust.Policy{Signers: []trust.Signer{server.Signer()}, AllowSimulated: true, SimRoots: root}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := trust.NewVerifier(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			var claims *trust.Claims
			cfg, err := ratls.ClientConfig(ratls.ClientOptions{Verifier: v, Nonce: true, OnVerified: func(c *trust.Claims) { claims = c }})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr == nil {
				tlsExchange(t, s, cfg, "attested")
				if claims == nil || !claims.Simulated || claims.Signer != server.Signer() {
					t.Fatalf("claims %+v", claims)
				}
				return
			}
			c := tls.Client(s.Dial(t), cfg)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			err = c.Handshake()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr.Error()) {
				t.Fatalf("handshake err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	// A client that skips verification still gets TLS (memcached clients
	// with their own pinning, for instance).
	tlsExchange(t, s, &tls.Config{InsecureSkipVerify: true}, "unverified")
}

func simRootFrom(t *testing.T, state string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(state, trust.SimRootFile))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := trust.ParseCertificatesPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

// TestTLSUntrustedNeedsCertificate: an untrusted agent has no enclave to
// attest a certificate, so -Z without one is refused at startup.
func TestTLSUntrustedNeedsCertificate(t *testing.T) {
	bin := testenv.SecurecachedBinary(t)
	cmd := exec.Command(bin, "--untrusted", "-Z", "-l", "127.0.0.1", "-p", fmt.Sprint(testenv.FreePort(t)))
	cmd.Env = append(os.Environ(), "STATE_DIRECTORY="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if testenv.ExitCode(err) != 71 || !strings.Contains(string(out), "ssl_chain_cert") {
		t.Fatalf("exit %d, output:\n%s", testenv.ExitCode(err), out)
	}
}

// TestAttestCommand: "securecached attest" prints the evidence and its
// verdict, refusing simulated evidence unless told.
func TestAttestCommand(t *testing.T) {
	state := t.TempDir()
	s := testenv.StartSecurecached(t, "-Z", "--state-dir", state)
	bin := testenv.SecurecachedBinary(t)
	tests := []struct {
		name     string
		args     []string
		wantExit int
		want     []string
	}{
		{"default refuses sim", []string{s.Addr}, 1, []string{"backend:     sim", "simulated:   true", "signer:      " + server.Signer().String(), "verdict:     REFUSED"}},
		{"allowed sim", []string{"--allow-simulated", "--sim-root", filepath.Join(state, trust.SimRootFile), s.Addr}, 0, []string{"measurement: ", "verdict:     OK (simulated"}},
		{"pinned wrong measurement", []string{"--allow-simulated", "--sim-root", filepath.Join(state, trust.SimRootFile), "--measurement", strings.Repeat("00", 32), s.Addr}, 1, []string{"REFUSED"}},
		{"no server", []string{"127.0.0.1:1"}, 2, nil},
		{"allow without root", []string{"--allow-simulated", s.Addr}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := exec.Command(bin, append([]string{"attest"}, tc.args...)...)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if got := testenv.ExitCode(err); got != tc.wantExit {
				t.Fatalf("exit %d, want %d:\n%s", got, tc.wantExit, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// BenchmarkTLSGetSet1KB: the same Go TLS load (64 connections, 95% get /
// 5% set, 1 KB values) against memcached -Z and securecached -Z with the
// same kind of certificate (ECDSA P-256). ops/s is the figure to compare.
func BenchmarkTLSGetSet1KB(b *testing.B) {
	f := testcert.Write(b)
	servers := []struct {
		name  string
		start func() *testenv.Server
	}{
		{"memcached", func() *testenv.Server {
			return testenv.StartMemcached(b, append(f.Flags(), "-t", "2", "-m", "1024")...)
		}},
		{"securecached", func() *testenv.Server {
			return testenv.StartSecurecached(b, append(f.Flags(), "-t", "2", "-m", "1024")...)
		}},
		{"securecached-ratls", func() *testenv.Server {
			return testenv.StartSecurecached(b, "-Z", "-t", "2", "-m", "1024", "--state-dir", b.TempDir())
		}},
	}
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			s := srv.start()
			tlsLoad(b, s, &tls.Config{InsecureSkipVerify: true}, 64)
		})
	}
}

// tlsLoad runs b.N requests spread over conns TLS connections.
func tlsLoad(b *testing.B, s *testenv.Server, cfg *tls.Config, conns int) {
	val := bytes.Repeat([]byte("v"), 1024)
	const keys = 1000
	clients := make([]*tls.Conn, conns)
	for i := range clients {
		clients[i] = tls.Client(s.Dial(b), cfg)
		if err := clients[i].Handshake(); err != nil {
			b.Fatal(err)
		}
	}
	// Preload so that gets hit.
	w := bufio.NewWriter(clients[0])
	r := bufio.NewReader(clients[0])
	for k := range keys {
		fmt.Fprintf(w, "set key%d 0 0 %d\r\n%s\r\n", k, len(val), val)
		w.Flush()
		if line, err := r.ReadString('\n'); err != nil || line != "STORED\r\n" {
			b.Fatalf("preload: %q, %v", line, err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.ResetTimer()
	start := time.Now()
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := bufio.NewWriter(c)
			r := bufio.NewReader(c)
			seq := uint32(i*7919 + 1)
			for next.Add(1) <= int64(b.N) {
				seq = seq*1664525 + 1013904223
				k := seq % keys
				if seq>>24%20 == 0 {
					fmt.Fprintf(w, "set key%d 0 0 %d\r\n%s\r\n", k, len(val), val)
				} else {
					fmt.Fprintf(w, "get key%d\r\n", k)
				}
				if err := w.Flush(); err != nil {
					errs <- err
					return
				}
				line, err := r.ReadString('\n')
				if err != nil {
					errs <- err
					return
				}
				if strings.HasPrefix(line, "VALUE") {
					if _, err := io.CopyN(io.Discard, r, int64(len(val))+2); err != nil {
						errs <- err
						return
					}
					if _, err := r.ReadString('\n'); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	for _, c := range clients {
		c.Close()
	}
}

// TestSettingsShowConfiguredValues: "stats settings" reports the ssl_*
// settings and hashpower_init as configured, the same on both servers.
func TestSettingsShowConfiguredValues(t *testing.T) {
	f := testcert.Write(t)
	flags := append(f.Flags(), "-o", "ssl_verify_mode=1,ssl_ca_cert="+f.Cert+",hashpower=20")
	names := []string{"hashpower_init", "ssl_enabled", "ssl_chain_cert", "ssl_key", "ssl_verify_mode", "ssl_keyformat",
		"ssl_ciphers", "ssl_ca_cert", "ssl_wbuf_size", "ssl_session_cache", "ssl_kernel_tls", "ssl_min_version"}
	settings := func(t *testing.T, s *testenv.Server) map[string]string {
		c := tls.Client(s.Dial(t), &tls.Config{RootCAs: f.Pool, ServerName: testcert.ServerName})
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return stats(t, c, bufio.NewReader(c), "stats settings")
	}
	want := settings(t, testenv.StartMemcached(t, flags...))
	if want["hashpower_init"] != "20" || want["ssl_ca_cert"] != f.Cert {
		t.Fatalf("memcached itself shows %v", want)
	}
	eachTrust(t, func(t *testing.T, trust []string) {
		got := settings(t, testenv.StartSecurecached(t, append(trust, flags...)...))
		for _, n := range names {
			if got[n] != want[n] {
				t.Errorf("%s: %q, memcached %q", n, got[n], want[n])
			}
		}
	})
}
