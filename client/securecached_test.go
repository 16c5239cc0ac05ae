package client

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// TestEveryCallAgainstSecurecached runs the same API walk as against
// memcached against our own server, in each protocol: a memcached client
// must not notice the difference. The server is built from this tree; if it
// is not answering yet the test skips, unless SECURECACHED_REQUIRE_TOOLS=1
// (CI), where it fails.
func TestEveryCallAgainstSecurecached(t *testing.T) {
	if testing.Short() {
		t.Skip("builds securecached")
	}
	srv := testenv.StartSecurecached(t)
	probe := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, Timeout: 2 * time.Second})
	if _, err := probe.Version(context.Background()); err != nil {
		if os.Getenv(testenv.RequireToolsEnv) == "1" {
			t.Fatalf("securecached does not answer version: %v", err)
		}
		t.Skipf("securecached does not answer version yet: %v", err)
	}
	for _, p := range []Protocol{Binary, Text, Meta} {
		t.Run(p.String(), func(t *testing.T) {
			c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, Protocol: p})
			if err := c.FlushAll(ctx(t), 0); err != nil {
				t.Fatal(err)
			}
			everyCall(t, c, srv.Addr)
			pipelined(t, newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, Protocol: p, MaxConnsPerServer: 1}))
		})
	}
}
