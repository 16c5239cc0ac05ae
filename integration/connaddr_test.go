package integration

import (
	"bufio"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testcert"
	"github.com/securecached/securecached/internal/testenv"
)

// TestStatsConnsAddresses: "stats conns" names a client by its own address
// and the listener it reached, as memcached does, although securecached's
// cache agent sees only the gateway's Diggi socket (the gateway passes the
// addresses on with the connection). Checked over TCP with both gateway
// relays, over a unix socket and over TLS, against memcached each time.
func TestStatsConnsAddresses(t *testing.T) {
	tcp := func(t *testing.T, s *testenv.Server) {
		c := s.Dial(t)
		assertConnAddrs(t, c, c, "tcp:"+c.LocalAddr().String(), "tcp:"+c.RemoteAddr().String(), 3)
	}
	t.Run("tcp", func(t *testing.T) { bothServers(t, nil, tcp) })
	t.Run("tcp/relay=goroutine", func(t *testing.T) {
		eachTrust(t, func(t *testing.T, trust []string) {
			tcp(t, testenv.StartSecurecached(t, append(trust, "-o", "relay=goroutine")...))
		})
	})
	t.Run("unix", func(t *testing.T) {
		// A unix-socket client has no name; memcached prints "?:<AF 0>".
		unix := func(t *testing.T, s *testenv.Server, path string) {
			c := s.Dial(t)
			assertConnAddrs(t, c, c, "?:<AF 0>", "unix:"+path, 3)
		}
		t.Run("memcached", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mc.sock")
			unix(t, testenv.StartMemcachedUnix(t, path), path)
		})
		eachTrust(t, func(t *testing.T, trust []string) {
			path := filepath.Join(t.TempDir(), "sc.sock")
			unix(t, testenv.StartSecurecachedUnix(t, path, trust...), path)
		})
	})
	t.Run("tls", func(t *testing.T) {
		f := testcert.Write(t)
		cfg := &tls.Config{RootCAs: f.Pool, ServerName: testcert.ServerName}
		tlsCase := func(t *testing.T, s *testenv.Server) {
			raw := s.Dial(t)
			c := tls.Client(raw, cfg)
			assertConnAddrs(t, raw, c, "tcp:"+raw.LocalAddr().String(), "tcp:"+raw.RemoteAddr().String(), 0)
		}
		t.Run("memcached", func(t *testing.T) { tlsCase(t, testenv.StartMemcached(t, f.Flags()...)) })
		t.Run("securecached", func(t *testing.T) { tlsCase(t, testenv.StartSecurecached(t, f.Flags()...)) })
	})
}

// assertConnAddrs asks for "stats conns" over c (raw is its socket) and
// checks that exactly one connection is listed with addr and listenAddr.
// minTotal is awaitProbe's.
func assertConnAddrs(t *testing.T, raw net.Conn, c net.Conn, addr, listenAddr string, minTotal int) {
	t.Helper()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	// The readiness probe (on a unix socket, also "?:<AF 0>") is gone.
	awaitProbe(t, c, r, minTotal)
	st := stats(t, c, r, "stats conns")
	var ids []string
	for k, v := range st {
		if id, ok := strings.CutSuffix(k, ":addr"); ok && v == addr {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("stats conns lists %d connections with addr %s, want 1: %v", len(ids), addr, st)
	}
	if got := st[ids[0]+":listen_addr"]; got != listenAddr {
		t.Errorf("connection %s: listen_addr %q, want %q (all: %v)", ids[0], got, listenAddr, st)
	}
}
