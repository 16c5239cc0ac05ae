package cacheagent

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"testing"
)

// BenchmarkCacheAgentGet1KB measures a get of a 1 KB value from a client
// agent over a Diggi socket: the cache agent's share of a request, without
// the gateway and TCP.
func BenchmarkCacheAgentGet1KB(b *testing.B) {
	for _, m := range trustModes {
		b.Run(m.name, func(b *testing.B) {
			st := newStack(b, stackOptions{trusted: m.trusted})
			c := st.dial(b)
			r := bufio.NewReader(c)
			val := bytes.Repeat([]byte("v"), 1024)
			fmt.Fprintf(c, "set k 0 0 %d\r\n%s\r\n", len(val), val)
			if line, err := r.ReadString('\n'); err != nil || line != "STORED\r\n" {
				b.Fatalf("set: %q, %v", line, err)
			}
			buf := make([]byte, len("VALUE k 0 1024\r\n")+1024+len("\r\nEND\r\n"))
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
