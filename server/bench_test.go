package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchClients is memcaslap's -c 64 in the throughput target.
const benchClients = 64

// benchLoopback measures request/response round trips over loopback TCP
// with 64 connections, each request a text get (or, every setEvery-th, a
// set) of a 1 KB value, like the memcaslap run in bench/memcaslap.sh.
func benchLoopback(b *testing.B, setEvery int, relay string) {
	_, addr := startServer(b, "-m", "256", "-o", "relay="+relay)
	value := strings.Repeat("v", 1024)
	const keys = 1000
	{
		c, r := dial(b, addr)
		for i := 0; i < keys; i++ {
			roundTrip(b, c, r, fmt.Sprintf("set key:%d 0 0 1024\r\n%s\r\n", i, value), "STORED\r\n")
		}
		c.Close()
	}
	// Requests are built once, outside the timed loop.
	getReqs := make([][]byte, keys)
	setReqs := make([][]byte, keys)
	getLens := make([]int, keys)
	for i := range getReqs {
		getReqs[i] = fmt.Appendf(nil, "get key:%d\r\n", i)
		setReqs[i] = fmt.Appendf(nil, "set key:%d 0 0 1024\r\n%s\r\n", i, value)
		getLens[i] = len(fmt.Sprintf("VALUE key:%d 0 1024\r\n", i)) + 1024 + len("\r\nEND\r\n")
	}
	var next atomic.Int64
	b.SetParallelism((benchClients + 1) / 2) // GOMAXPROCS*p goroutines, one connection each
	b.SetBytes(1024)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		r := bufio.NewReaderSize(c, 8<<10)
		resp := make([]byte, len("VALUE key:000 0 1024\r\n")+1024+len("\r\nEND\r\n")+8)
		for pb.Next() {
			n := next.Add(1)
			k := int(n % keys)
			if setEvery > 0 && n%int64(setEvery) == 0 {
				if _, err := c.Write(setReqs[k]); err != nil {
					b.Error(err)
					return
				}
				if _, err := io.ReadFull(r, resp[:len("STORED\r\n")]); err != nil {
					b.Error(err)
					return
				}
				continue
			}
			if _, err := c.Write(getReqs[k]); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(r, resp[:getLens[k]]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkServerGet1KB64Conns(b *testing.B) {
	for _, r := range relays {
		b.Run(r, func(b *testing.B) { benchLoopback(b, 0, r) })
	}
}

func BenchmarkServerGetSet95_5_1KB64Conns(b *testing.B) {
	for _, r := range relays {
		b.Run(r, func(b *testing.B) { benchLoopback(b, 20, r) })
	}
}

// BenchmarkServerRoundTripGet1KB is one client doing get after get: the
// latency of a request through each relay, with no concurrency to hide it.
// Client and server share this process's scheduler, which favours the
// goroutine relay (one Go netpoller wakes both ends, often without a thread
// switch); bench/memcaslap.sh measures with an external client.
func BenchmarkServerRoundTripGet1KB(b *testing.B) {
	for _, relay := range relays {
		b.Run(relay, func(b *testing.B) {
			_, addr := startServer(b, "-o", "relay="+relay)
			c, r := dial(b, addr)
			c.SetDeadline(time.Time{})
			value := strings.Repeat("v", 1024)
			roundTrip(b, c, r, "set k 0 0 1024\r\n"+value+"\r\n", "STORED\r\n")
			req := []byte("get k\r\n")
			resp := make([]byte, len("VALUE k 0 1024\r\n")+1024+len("\r\nEND\r\n"))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
