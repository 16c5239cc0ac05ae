package cacheagent

import (
	"testing"

	"github.com/securecached/securecached/internal/testwire"
)

// BenchmarkCacheAgentGet1KB measures a get of a 1 KB value from a client
// agent over a Diggi socket: the cache agent's share of a request, without
// the gateway and TCP.
func BenchmarkCacheAgentGet1KB(b *testing.B) {
	for _, m := range trustModes {
		b.Run(m.name, func(b *testing.B) {
			st := newStack(b, stackOptions{trusted: m.trusted})
			testwire.BenchGet(b, st.dial(b), 1024)
		})
	}
}
