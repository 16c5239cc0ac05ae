package client

import (
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

// TestEveryCallAgainstSecurecached runs the same API walk as against
// memcached against our own server, in each protocol: a memcached client
// must not notice the difference.
func TestEveryCallAgainstSecurecached(t *testing.T) {
	if testing.Short() {
		t.Skip("builds securecached")
	}
	srv := testenv.StartSecurecached(t)
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
