package diggichannel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
)

// tap records every byte the untrusted runtime handles for agent traffic,
// handshake messages included: each message's header and payload as the
// router sees it, or as it enters a queue (see the two taps below).
type tap struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int
}

func (tp *tap) record(m *diggi.Message) {
	tp.mu.Lock()
	tp.buf.Write(m.Header.AppendBinary(nil))
	tp.buf.Write(m.Payload())
	tp.n++
	tp.mu.Unlock()
}

// Route taps the router; installing one routes every message through it.
func (tp *tap) Route(m *diggi.Message, fwd diggi.Forwarder) {
	tp.record(m)
	_ = fwd.Forward(m)
}

func (tp *tap) count() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.n
}

func (tp *tap) contains(b []byte) bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return bytes.Contains(tp.buf.Bytes(), b)
}

// TestCanaryNeverInUntrustedBytes sends a sentinel between agents, one way
// and as a request echoed back, and looks for it in everything the
// untrusted side handled.
func TestCanaryNeverInUntrustedBytes(t *testing.T) {
	cases := []struct {
		name           string
		trusted        [2]bool
		allowPlaintext bool
		wantVisible    bool
	}{
		{"trusted to trusted", [2]bool{true, true}, false, false},
		{"trusted to trusted, plaintext allowed", [2]bool{true, true}, true, false},
		{"untrusted to trusted", [2]bool{false, true}, true, false},
		{"trusted to untrusted", [2]bool{true, false}, true, false},
		// Control: proves the tap sees payloads when they are not sealed.
		{"untrusted plaintext control", [2]bool{false, false}, true, true},
	}
	// The router tap sees the router's path; the queue tap (no router
	// installed) sees the queues on the default path, where a sender puts
	// a message straight into the receiver's inbound queue.
	taps := []struct {
		name string
		opts func(*tap) bedOptions
	}{
		{"router", func(tp *tap) bedOptions { return bedOptions{router: tp} }},
		{"queues", func(tp *tap) bedOptions { return bedOptions{queueTap: tp.record} }},
	}
	for _, c := range cases {
		for _, where := range taps {
			t.Run(c.name+"/"+where.name, func(t *testing.T) {
				tp := &tap{}
				o := where.opts(tp)
				o.trusted, o.allowPlaintext = c.trusted, c.allowPlaintext
				canaryRoundTrip(t, newTestbed(t, o), tp, c.wantVisible)
			})
		}
	}
}

// canaryRoundTrip sends a fresh sentinel from alice to bob, one way and as
// a request echoed back, and checks whether tp saw it.
func canaryRoundTrip(t *testing.T, tb *testbed, tp *tap, wantVisible bool) {
	t.Helper()
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	canary := []byte("CANARY-" + hex.EncodeToString(raw))
	bob := tb.info(t, "bob").ID
	var echoed []byte
	tb.run(t, "alice", func(ctx *diggi.Context) error {
		if err := ctx.Messages().Send(bob, canary); err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		echoed, err = ctx.Messages().Call(cctx, bob, canary)
		return err
	})
	waitUntil(t, "bob to receive the canary", func() bool { return len(tb.bob.payloads()) == 1 })
	if !bytes.Equal(tb.bob.payloads()[0], canary) || !bytes.Equal(echoed, canary) {
		t.Fatalf("canary did not make the round trip: got %q, echoed %q", tb.bob.payloads()[0], echoed)
	}
	if n := tp.count(); n < 3 {
		t.Fatalf("tap saw %d messages", n)
	}
	if got := tp.contains(canary); got != wantVisible {
		t.Fatalf("canary visible to the untrusted side: %v, want %v", got, wantVisible)
	}
}
