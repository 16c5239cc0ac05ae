package client

import (
	"bytes"
	"context"
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

func benchClient(b *testing.B, p Protocol) *Client {
	srv := testenv.StartMemcached(b)
	c, err := New(Config{Servers: []ServerConfig{{Addr: srv.Addr}}, Protocol: p, MaxConnsPerServer: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkClientGet1KB is one synchronous get of a 1 KB value over
// loopback TCP against Debian's memcached: a round trip per operation.
func BenchmarkClientGet1KB(b *testing.B) {
	for _, p := range []Protocol{Binary, Text, Meta} {
		b.Run(p.String(), func(b *testing.B) {
			c := benchClient(b, p)
			ctx := context.Background()
			if err := c.Set(ctx, &Item{Key: "bench", Value: bytes.Repeat([]byte("x"), 1024)}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(1024)
			for b.Loop() {
				if _, err := c.Get(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClientSet1KB is one synchronous set of a 1 KB value.
func BenchmarkClientSet1KB(b *testing.B) {
	c := benchClient(b, Binary)
	ctx := context.Background()
	it := &Item{Key: "bench", Value: bytes.Repeat([]byte("x"), 1024)}
	b.SetBytes(1024)
	for b.Loop() {
		if err := c.Set(ctx, it); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientGetPipelined1KB keeps 32 gets outstanding on one
// connection (the asynchronous form), reporting time per get.
func BenchmarkClientGetPipelined1KB(b *testing.B) {
	c := benchClient(b, Binary)
	ctx := context.Background()
	if err := c.Set(ctx, &Item{Key: "bench", Value: bytes.Repeat([]byte("x"), 1024)}); err != nil {
		b.Fatal(err)
	}
	const depth = 32
	b.SetBytes(1024)
	pending := make([]*Pending, 0, depth)
	for b.Loop() {
		p, err := c.GetAsync(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		pending = append(pending, p)
		if len(pending) == depth {
			for _, p := range pending {
				if _, err := p.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
			pending = pending[:0]
		}
	}
	for _, p := range pending {
		if _, err := p.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
