package link

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testproxy"
	"github.com/securecached/securecached/internal/testsim"
)

// pairOf makes instance "a" (agents tx1, tx2) and "b" (agents rx, slow)
// sharing one sim world, each knowing the other's configuration.
func pairOf(t *testing.T, trusted bool, tapA, tapB func([]byte)) (a, b *node) {
	t.Helper()
	w := testsim.New(t)
	ca := testpeers.Config("a", []string{"tx1", "tx2"}, trusted)
	cb := testpeers.Config("b", []string{"rx", "slow"}, trusted)
	all := []diggi.Config{ca, cb}
	return newNode(t, w, ca, all, nodeOptions{tap: tapA}), newNode(t, w, cb, all, nodeOptions{tap: tapB})
}

// TestLinkCarriesMessagesInOrder: two senders of one instance send to an
// agent of another over a link; every message arrives once, in each
// sender's order, and a request across the link is answered, for
// untrusted agents and for trusted ones (sealed end to end).
func TestLinkCarriesMessagesInOrder(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			a, b := pairOf(t, trusted, nil, nil)
			link(t, a, b, nil)
			rx := a.WaitAgent(t, "b/rx")
			const n = 2000
			var wg sync.WaitGroup
			for _, s := range []string{"tx1", "tx2"} {
				wg.Add(1)
				go func() { defer wg.Done(); a.SendSeq(t, s, rx, n) }()
			}
			wg.Wait()
			testpeers.WaitUntil(t, "all messages", func() bool { return b.Agents["rx"].Count() == 2*n })
			count := testpeers.CheckOrdered(t, b.Agents["rx"].Payloads(), false)
			if count["tx1"] != n || count["tx2"] != n {
				t.Fatalf("per sender: %v, want %d each", count, n)
			}
			a.Run(t, "tx1", func(ctx *diggi.Context) error {
				c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				resp, err := ctx.Messages().Call(c, rx, []byte("ping across"))
				if err != nil {
					return err
				}
				if string(resp) != "ping across" {
					return fmt.Errorf("echo %q", resp)
				}
				return nil
			})
			// The answer came back over the same link: b knows a's agents.
			if _, ok := b.In.Directory().Lookup("a/tx1"); !ok {
				t.Fatal("b's directory lacks a/tx1")
			}
			if info, _ := a.In.Directory().Lookup("b/rx"); info.Trusted != trusted || info.Kind != "recorder-rx" {
				t.Fatalf("directory entry %+v", info)
			}
			pa, _ := a.hub.Peer("b")
			if st := pa.Stats(); st.Sessions != 1 || st.Integrity+st.Protocol != 0 || st.MsgsOut < 2*n {
				t.Fatalf("link stats %+v", st)
			}
		})
	}
}

// TestLinkSlowAgentDoesNotBlockOthers: one agent of b stops reading; a's
// sender to it is held back by credit, while another sender of a keeps
// reaching another agent of b over the same link. When the slow agent
// resumes, it gets everything, in order.
func TestLinkSlowAgentDoesNotBlockOthers(t *testing.T) {
	a, b := pairOf(t, false, nil, nil)
	gate := make(chan struct{})
	b.Agents["slow"].Gate = gate
	link(t, a, b, nil)
	slow, rx := a.WaitAgent(t, "b/slow"), a.WaitAgent(t, "b/rx")
	// Far more than the window plus every queue on the way.
	const toSlow = 8 * DefaultWindow
	slowDone := make(chan struct{})
	go func() { defer close(slowDone); a.SendSeq(t, "tx1", slow, toSlow) }()
	// The slow agent's credit runs out: a holds the rest.
	pa := waitPeerUp(t, a, "b")
	testpeers.WaitUntil(t, "credit to the slow agent exhausted", func() bool {
		return pa.Stats().MsgsOut >= DefaultWindow
	})
	const toFast = 3000
	a.SendSeq(t, "tx2", rx, toFast)
	testpeers.WaitUntil(t, "the fast agent's messages", func() bool { return b.Agents["rx"].Count() == toFast })
	if got := b.Agents["slow"].Count(); got > 1 {
		t.Fatalf("slow agent received %d messages while blocked", got)
	}
	select {
	case <-slowDone:
		t.Fatal("all messages to the slow agent left a while it was blocked: no back-pressure")
	default:
	}
	close(gate)
	<-slowDone
	testpeers.WaitUntil(t, "the slow agent's messages", func() bool { return b.Agents["slow"].Count() == toSlow })
	testpeers.CheckOrdered(t, b.Agents["slow"].Payloads(), false)
	testpeers.CheckOrdered(t, b.Agents["rx"].Payloads(), false)
	if st := pa.Stats(); st.Sessions != 1 || st.Protocol != 0 {
		t.Fatalf("link stats %+v", st)
	}
}

// TestLinkReturnsCreditInBatches: the receiver returns credit once per
// creditBatch messages taken, not per message (in request-response
// traffic that was one credit frame per request and per response), and
// the sender never stalls on the credit held back.
func TestLinkReturnsCreditInBatches(t *testing.T) {
	var credits atomic.Int64
	countCredit := func(b []byte) {
		// b is one frame, or several credit frames written together.
		for len(b) >= 5 && b[4] == kindCredit {
			credits.Add(1)
			b = b[5+12:]
		}
	}
	a, b := pairOf(t, false, nil, countCredit)
	link(t, a, b, nil)
	rx := a.WaitAgent(t, "b/rx")
	const calls = 500
	a.Run(t, "tx1", func(ctx *diggi.Context) error {
		for i := range calls {
			c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := ctx.Messages().Call(c, rx, []byte(fmt.Sprint(i)))
			cancel()
			if err != nil {
				return err
			}
			if string(resp) != fmt.Sprint(i) {
				return fmt.Errorf("call %d: echo %q", i, resp)
			}
		}
		return nil
	})
	const n = 20 * DefaultWindow
	a.SendSeq(t, "tx1", rx, n)
	testpeers.WaitUntil(t, "all messages", func() bool { return b.Agents["rx"].Count() == n })
	// Both ways (b's credit for the requests and messages, a's for the
	// responses), one frame per batch taken.
	batch := int64(creditBatch(DefaultWindow))
	if got, most := credits.Load(), (calls+n)/batch+calls/batch; got < 1 || got > most {
		t.Fatalf("%d credit frames for %d calls and %d messages, want 1..%d (one per %d taken)", got, calls, n, most, batch)
	}
}

// frameTap records every frame the links carry (inside TLS).
type frameTap struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (f *frameTap) record(b []byte) {
	f.mu.Lock()
	f.buf.Write(b)
	f.mu.Unlock()
}

func (f *frameTap) contains(b []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Contains(f.buf.Bytes(), b)
}

// TestLinkCanary: a canary sent between trusted agents of two instances,
// one way and as a request echoed back, never appears in any byte a link
// carries, even inside its TLS. The control (untrusted agents allowed to
// talk in plaintext) shows the tap does see payloads.
func TestLinkCanary(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted=%v", trusted), func(t *testing.T) {
			tp := &frameTap{}
			a, b := pairOf(t, trusted, tp.record, tp.record)
			link(t, a, b, nil)
			rx := a.WaitAgent(t, "b/rx")
			canary := []byte("CANARY-7f3a9c2e-link")
			a.Run(t, "tx1", func(ctx *diggi.Context) error {
				if err := ctx.Messages().Send(rx, canary); err != nil {
					return err
				}
				c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				resp, err := ctx.Messages().Call(c, rx, canary)
				if err != nil {
					return err
				}
				if !bytes.Equal(resp, canary) {
					return fmt.Errorf("echo %q", resp)
				}
				return nil
			})
			testpeers.WaitUntil(t, "the canary", func() bool { return b.Agents["rx"].Count() == 1 })
			if !bytes.Equal(b.Agents["rx"].Payloads()[0], canary) {
				t.Fatal("the agent got something else")
			}
			if seen := tp.contains(canary); seen == trusted {
				t.Fatalf("canary visible in link frames: %v (trusted agents: %v)", seen, trusted)
			}
		})
	}
}

// TestLinkDownBouncesAndReconnects: when the connection is cut and the
// peer unreachable, a request to a remote agent is answered with the
// runtime's bounce instead of hanging; when the peer is reachable again
// the link comes back and requests succeed; nothing is duplicated.
func TestLinkDownBouncesAndReconnects(t *testing.T) {
	a, b := pairOf(t, true, nil, nil)
	var px *testproxy.Proxy
	link(t, a, b, func(target string) string { px = testproxy.New(t, target); return px.Addr() })
	rx := a.WaitAgent(t, "b/rx")
	pa := waitPeerUp(t, a, "b")
	call := func(timeout time.Duration) error {
		var cerr error
		a.Run(t, "tx1", func(ctx *diggi.Context) error {
			c, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, cerr = ctx.Messages().Call(c, rx, []byte("are you there"))
			return nil
		})
		return cerr
	}
	if err := call(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	a.SendSeq(t, "tx1", rx, 100)
	px.SetDown(true)
	testpeers.WaitUntil(t, "the link to go down", func() bool { return !pa.Up() })
	// The runtime answers at once: the pair's channel was dropped when
	// the link went down and a new handshake cannot start over a down
	// link (ErrLinkDown), or the request is bounced (by the mover, the
	// remote agent being down, or by the link's drain).
	if err := call(10 * time.Second); !isFastFailure(err, rx) {
		t.Fatalf("call over a down link: %v, want the runtime's error", err)
	}
	px.SetDown(false)
	testpeers.WaitUntil(t, "the link to come back", func() bool { return pa.Up() && pa.Stats().Sessions == 2 })
	// The first request after the gap waits for the pair's new handshake
	// and is answered (TestLinkTrustedPairAfterGap).
	if err := call(10 * time.Second); err != nil {
		t.Fatalf("request after the link came back: %v", err)
	}
	a.SendSeq(t, "tx2", rx, 100)
	testpeers.WaitUntil(t, "tx2's messages", func() bool { return testpeers.CheckOrdered(t, b.Agents["rx"].Payloads(), true)["tx2"] == 100 })
	testpeers.CheckOrdered(t, b.Agents["rx"].Payloads(), true)
}

// TestLinkAdversarialProxy: a proxy between the instances flips, drops,
// replays, reorders or injects bytes. Each attack is detected (TLS refuses
// the record) and counted, the link is torn down and re-established, and
// nothing corrupted, replayed or out of order reaches the agent.
func TestLinkAdversarialProxy(t *testing.T) {
	a, b := pairOf(t, false, nil, nil)
	var px *testproxy.Proxy
	link(t, a, b, func(target string) string { px = testproxy.New(t, target); return px.Addr() })
	rx := a.WaitAgent(t, "b/rx")
	pb := waitPeerUp(t, b, "a")

	var stop atomic.Bool
	sent := make(chan struct{})
	go func() { // a steady stream, so every attack hits live traffic
		defer close(sent)
		ctx, _ := a.In.Context("tx1")
		i := 0
		for !stop.Load() {
			_ = ctx.Scheduler().Run(func() {
				for range 50 {
					_ = ctx.Messages().Send(rx, testpeers.SeqPayload("tx1", i))
					i++
				}
			})
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { stop.Store(true); <-sent }()

	for _, atk := range []testproxy.Attack{testproxy.Flip, testproxy.Drop, testproxy.Replay, testproxy.Reorder, testproxy.Inject} {
		before := pb.Stats()
		px.SetMode(atk)
		px.Cut() // the next connection carries the attack
		testpeers.WaitUntil(t, atk.String()+" detected", func() bool { return pb.Stats().Integrity > before.Integrity })
		px.SetMode(testproxy.None)
		testpeers.WaitUntil(t, "the link re-established after "+atk.String(), func() bool {
			st := pb.Stats()
			return pb.Up() && st.Sessions > before.Sessions+1
		})
		testpeers.CheckOrdered(t, b.Agents["rx"].Payloads(), true)
		t.Logf("%s: %+v", atk, pb.Stats())
	}
	got := b.Agents["rx"].Count()
	testpeers.WaitUntil(t, "traffic after the attacks", func() bool { return b.Agents["rx"].Count() > got+100 })
	testpeers.CheckOrdered(t, b.Agents["rx"].Payloads(), true)
}

// TestLinkBulkRoundsGatherRecords: a burst of 4 KB messages fills the
// writer's buffer many times over; the records of each round go out in
// one socket write (batch.go), and every message arrives once, in order.
func TestLinkBulkRoundsGatherRecords(t *testing.T) {
	a, b := pairOf(t, false, nil, nil)
	link(t, a, b, nil)
	rx := a.WaitAgent(t, "b/rx")
	pa := waitPeerUp(t, a, "b")
	const n = 1000
	pad := bytes.Repeat([]byte{'.'}, 4<<10)
	a.Run(t, "tx1", func(ctx *diggi.Context) error {
		for i := range n {
			if err := ctx.Messages().Send(rx, append(testpeers.SeqPayload("tx1", i), pad...)); err != nil {
				return err
			}
		}
		return nil
	})
	testpeers.WaitUntil(t, "all messages", func() bool { return b.Agents["rx"].Count() == n })
	for i, p := range b.Agents["rx"].Payloads() {
		if want := append(testpeers.SeqPayload("tx1", i), pad...); !bytes.Equal(p, want) {
			t.Fatalf("message %d: %q..., want %q...", i, p[:min(len(p), 16)], want[:16])
		}
	}
	pa.mu.Lock()
	s := pa.sess
	pa.mu.Unlock()
	if s == nil || s.batch == nil {
		t.Fatal("the session has no batchConn")
	}
	if g := s.batch.gathered.Load(); g == 0 {
		t.Error("4 MB in bursts, and no round gathered its records into one write")
	}
}
