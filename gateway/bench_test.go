package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
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
			r := bufio.NewReader(c)
			val := bytes.Repeat([]byte("v"), 1024)
			fmt.Fprintf(c, "set k 0 0 %d\r\n%s\r\n", len(val), val)
			r.ReadString('\n')
			want := len("VALUE k 0 1024\r\n") + 1024 + len("\r\nEND\r\n")
			buf := make([]byte, want)
			req := []byte("get k\r\n")
			b.SetBytes(1024)
			b.ResetTimer()
			for b.Loop() {
				c.Write(req)
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
