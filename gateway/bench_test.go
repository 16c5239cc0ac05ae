package gateway

import (
	"fmt"
	"net"
	"testing"

	"github.com/securecached/securecached/internal/testwire"
)

// BenchmarkGatewayGet1KB measures one client's request latency through the
// whole agent path: TCP, gateway, router, cache agent and back.
func BenchmarkGatewayGet1KB(b *testing.B) {
	for _, trusted := range []bool{false, true} {
		b.Run(fmt.Sprint("trusted=", trusted), func(b *testing.B) {
			st := newStack(b, stackOptions{trusted: trusted})
			c, err := net.Dial("tcp", st.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			testwire.BenchGet(b, c, 1024)
		})
	}
}
