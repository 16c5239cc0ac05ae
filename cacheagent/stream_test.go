package cacheagent

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testcert"
	"github.com/securecached/securecached/internal/testwire"
)

// waitPins waits until the engine holds want item pins (counted across
// goroutines), failing after a few seconds.
func waitPins(t *testing.T, st *stack, want func(int64) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !want(st.agent.engine.PinsHeld()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d item pins held", what, st.agent.engine.PinsHeld())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCacheAgentPinsReleasedWhenClientLeavesMidMultiget: clients that ask
// for a multi-get of large values, read part of it and go away leave no
// item pinned, plain and trusted, with and without TLS.
func TestCacheAgentPinsReleasedWhenClientLeavesMidMultiget(t *testing.T) {
	cert := testcert.Write(t)
	for _, o := range []stackOptions{{}, {trusted: true}, {trusted: true, tls: true}} {
		t.Run(fmt.Sprintf("trusted=%v,tls=%v", o.trusted, o.tls), func(t *testing.T) {
			o.args = "-m 64"
			if o.tls {
				o.args += " -o ssl_chain_cert=" + cert.Cert + ",ssl_key=" + cert.Key
			}
			st := newStack(t, o)
			dial := func() net.Conn {
				if o.tls {
					return tls.Client(st.dial(t), &tls.Config{RootCAs: cert.Pool, ServerName: testcert.ServerName})
				}
				return st.dial(t)
			}
			w := dial()
			defer w.Close()
			w.SetDeadline(time.Now().Add(20 * time.Second))
			wr := bufio.NewReader(w)
			val := strings.Repeat("v", 100<<10)
			var keys []string
			for i := range 30 {
				k := fmt.Sprintf("k%d", i)
				testwire.Exchange(t, w, wr, fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", k, len(val), val), "STORED\r\n")
				keys = append(keys, k)
			}
			for range 5 {
				c := dial()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, "get "+strings.Join(keys, " ")+"\r\n"); err != nil {
					t.Fatal(err)
				}
				// More than any window: the reply stops part way, a value
				// pinned. (A TLS session encrypts a value whole into its
				// records before it blocks, so it holds no pin then.)
				if !o.tls {
					waitPins(t, st, func(n int64) bool { return n > 0 }, "while the reply is blocked")
				}
				if _, err := io.ReadFull(c, make([]byte, 150<<10)); err != nil {
					t.Fatal(err)
				}
				c.Close()
			}
			waitPins(t, st, func(n int64) bool { return n == 0 }, "after the clients left")
			// The cache still serves every value whole.
			for _, k := range keys[:3] {
				testwire.Exchange(t, w, wr, "get "+k+"\r\n", fmt.Sprintf("VALUE %s 0 %d\r\n%s\r\nEND\r\n", k, len(val), val))
			}
		})
	}
}

// TestCacheAgentValueDeletedWhileSentArrivesIntact: a client that is slow
// to read a large value gets it whole although another client deletes it
// and fills the cache with values of its size meanwhile.
func TestCacheAgentValueDeletedWhileSentArrivesIntact(t *testing.T) {
	st := newStack(t, stackOptions{trusted: true, args: "-m 8"})
	w := st.dial(t)
	wr := bufio.NewReader(w)
	val := bytes.Repeat([]byte("0123456789"), 50<<10) // 500 KB
	testwire.Exchange(t, w, wr, fmt.Sprintf("set big 0 0 %d\r\n%s\r\n", len(val), val), "STORED\r\n")
	slow := st.dial(t)
	slow.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(slow, "get big\r\n"); err != nil {
		t.Fatal(err)
	}
	waitPins(t, st, func(n int64) bool { return n == 1 }, "while the value is sent")
	testwire.Exchange(t, w, wr, "delete big\r\n", "DELETED\r\n")
	fill := strings.Repeat("f", len(val))
	for i := range 40 { // 20 MB through an 8 MB cache
		testwire.Exchange(t, w, wr, fmt.Sprintf("set f%d 0 0 %d\r\n%s\r\n", i, len(fill), fill), "STORED\r\n")
	}
	want := append(append([]byte(fmt.Sprintf("VALUE big 0 %d\r\n", len(val))), val...), "\r\nEND\r\n"...)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(slow, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the value changed while it was being sent")
	}
	waitPins(t, st, func(n int64) bool { return n == 0 }, "after the value went out")
}
