package link

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testproxy"
)

// failFast bounds how long a sender may wait to learn that the link to
// its peer failed. A session that ends tells the agents at once; the
// membership bound (cluster's Timing.DownBound, 3.75 s by default) covers
// a peer that goes silent without closing its connection, which the
// cluster tests exercise.
const failFast = 3 * time.Second

// TestLinkLostResetsBlockedSocketRead: a Diggi socket between agents of
// two instances, both ends blocked in a read; the link is cut. Both reads
// return ECONNRESET within failFast, for untrusted and trusted agents.
func TestLinkLostResetsBlockedSocketRead(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			a, b := pairOf(t, trusted, nil, nil)
			var px *testproxy.Proxy
			link(t, a, b, func(target string) string { px = testproxy.New(t, target); return px.Addr() })
			a.WaitAgent(t, "b/rx")
			ac, bc := testpeers.ConnectedPair(t, a.Instance, "tx1", b.Instance, "rx", 7300)

			reads := make(chan error, 2)
			for _, c := range []net.Conn{ac, bc} {
				go func() { _, err := c.Read(make([]byte, 1)); reads <- err }()
			}
			time.Sleep(50 * time.Millisecond) // both reads are blocked
			px.SetDown(true)
			cut := time.Now()
			for range 2 {
				select {
				case err := <-reads:
					if !errors.Is(err, syscall.ECONNRESET) {
						t.Fatalf("read after the link was cut: %v, want ECONNRESET", err)
					}
				case <-time.After(failFast):
					// Unblock the reader so the test ends without a leak.
					ac.SetReadDeadline(time.Now())
					bc.SetReadDeadline(time.Now())
					<-reads
					t.Fatalf("a blocked read was not woken %v after the link was cut", failFast)
				}
			}
			t.Logf("both reads reset %v after the cut", time.Since(cut))
			if _, err := ac.Write([]byte("y")); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("write after the reset: %v, want ECONNRESET", err)
			}
		})
	}
}

// call makes one request from agent of n to dst, bounded by timeout.
func call(t *testing.T, n *node, agent string, dst diggi.AgentID, timeout time.Duration) error {
	var cerr error
	n.Run(t, agent, func(ctx *diggi.Context) error {
		c, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var resp []byte
		resp, cerr = ctx.Messages().Call(c, dst, []byte("are you there"))
		if cerr == nil && string(resp) != "are you there" {
			cerr = fmt.Errorf("echo %q", resp)
		}
		return nil
	})
	return cerr
}

// isFastFailure says err is the runtime telling a sender the link is down:
// the bounce of a request (from agent 0) or ErrLinkDown.
func isFastFailure(err error, dst diggi.AgentID) bool {
	var re *diggi.RemoteError
	return errors.Is(err, diggi.ErrLinkDown) ||
		errors.As(err, &re) && re.From.Local() == 0 && strings.Contains(re.Text, dst.String())
}

// TestLinkTrustedPairAfterGap: a trusted pair whose link fails and comes
// back. During the gap a request fails fast; the first request after it
// is delivered and answered (it waits for the pair's new handshake rather
// than being sealed under the old channel, whose sequence the receiver
// would refuse), and each sender's messages arrive once and in order.
func TestLinkTrustedPairAfterGap(t *testing.T) {
	a, b := pairOf(t, true, nil, nil)
	var px *testproxy.Proxy
	link(t, a, b, func(target string) string { px = testproxy.New(t, target); return px.Addr() })
	rx := a.WaitAgent(t, "b/rx")
	pa := waitPeerUp(t, a, "b")
	if err := call(t, a, "tx1", rx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	a.SendSeq(t, "tx1", rx, 100)
	testpeers.WaitUntil(t, "tx1's messages", func() bool { return b.Agents["rx"].Count() == 100 })

	for gap := 1; gap <= 3; gap++ {
		px.SetDown(true)
		testpeers.WaitUntil(t, "the link to go down", func() bool { return !pa.Up() })
		start := time.Now()
		if err := call(t, a, "tx1", rx, 10*time.Second); !isFastFailure(err, rx) || time.Since(start) > failFast {
			t.Fatalf("gap %d: call over a down link: %v after %v, want the runtime's error at once", gap, err, time.Since(start))
		}
		px.SetDown(false)
		testpeers.WaitUntil(t, "the link to come back", func() bool { return pa.Up() && pa.Stats().Sessions == uint64(gap+1) })
		// One try, well within the timeout: the first request after the
		// gap must not be lost.
		if err := call(t, a, "tx1", rx, 10*time.Second); err != nil {
			t.Fatalf("gap %d: first request after the link came back: %v", gap, err)
		}
		a.SendSeq(t, "tx1", rx, 100)
		want := 100 * (gap + 1)
		testpeers.WaitUntil(t, "tx1's messages after the gap", func() bool { return b.Agents["rx"].Count() >= want })
		if got := b.Agents["rx"].Count(); got != want {
			t.Fatalf("gap %d: %d messages, want %d", gap, got, want)
		}
	}
	// Every message once, in order: numbers restart with each SendSeq, so
	// check each batch of 100.
	got := b.Agents["rx"].Payloads()
	for i := 0; i < len(got); i += 100 {
		if c := testpeers.CheckOrdered(t, got[i:i+100], false); c["tx1"] != 100 {
			t.Fatalf("batch %d: %v", i/100, c)
		}
	}
}

// TestLinkLostMidHandshake: the link fails just as it is about to carry a
// trusted pair's first handshake message, which is lost with it. The
// request waiting for that handshake fails fast (it would otherwise wait
// for a reply that cannot come), and once the link is back a new
// handshake carries the next request.
func TestLinkLostMidHandshake(t *testing.T) {
	var armed atomic.Bool
	var px *testproxy.Proxy
	var hsFrom atomic.Uint64
	var cuts atomic.Int32
	tapA := func(f []byte) {
		// A message frame: u32 length, kind, then the header: src(8)
		// dst(8) type(1) ...
		if len(f) < 5+diggi.HeaderSize || f[4] != kindMsg || !armed.Load() {
			return
		}
		src := binary.BigEndian.Uint64(f[5:])
		if src == hsFrom.Load() && diggi.MsgType(f[5+16]) == diggi.TypeHandshake && armed.CompareAndSwap(true, false) {
			px.Cut() // before the frame reaches the socket: it is lost
			cuts.Add(1)
		}
	}
	a, b := pairOf(t, true, tapA, nil)
	link(t, a, b, func(target string) string { px = testproxy.New(t, target); return px.Addr() })
	rx := a.WaitAgent(t, "b/rx")
	pa := waitPeerUp(t, a, "b")
	tx2 := a.WaitAgent(t, "a/tx2")
	hsFrom.Store(uint64(tx2))
	armed.Store(true)

	start := time.Now()
	err := call(t, a, "tx2", rx, 10*time.Second)
	if cuts.Load() != 1 {
		t.Fatalf("the handshake message was not intercepted (call: %v)", err)
	}
	if !errors.Is(err, diggi.ErrLinkDown) || time.Since(start) > failFast {
		t.Fatalf("request whose handshake was lost: %v after %v, want ErrLinkDown at once", err, time.Since(start))
	}
	testpeers.WaitUntil(t, "the link to come back", func() bool { return pa.Up() && pa.Stats().Sessions == 2 })
	if err := call(t, a, "tx2", rx, 10*time.Second); err != nil {
		t.Fatalf("request after the link came back: %v", err)
	}
	_ = b
}
