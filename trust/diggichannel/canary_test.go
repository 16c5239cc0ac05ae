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
	"github.com/securecached/securecached/trust"
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

// TestCanaryTrustDomains runs the canary per backend and shows where
// plaintext may appear. Under sim (one enclave per trusted agent) it never
// appears in the runtime's queues or router, which are untrusted memory.
// Under sev-snp and tdx the instance is one confidential VM: between two of
// its trusted agents the canary travels in the clear, through queues that
// are in the VM's protected memory, while to or from an untrusted agent it
// is sealed. A message to another instance is always sealed: checked here
// at the factory, and across a real link by diggi/link's
// TestLinkCanaryTrustDomains.
func TestCanaryTrustDomains(t *testing.T) {
	for _, backend := range []string{trust.BackendSim, trust.BackendSNP, trust.BackendTDX} {
		oneDomain := trust.DomainOf(backend) == trust.DomainInstance
		cases := []struct {
			name        string
			trusted     [2]bool
			wantVisible bool
		}{
			{"trusted to trusted, same instance", [2]bool{true, true}, oneDomain},
			{"trusted to untrusted", [2]bool{true, false}, false},
			{"untrusted to trusted", [2]bool{false, true}, false},
		}
		for _, c := range cases {
			for _, where := range []string{"router", "queues"} {
				t.Run(backend+"/"+c.name+"/"+where, func(t *testing.T) {
					tp := &tap{}
					o := bedOptions{router: tp}
					if where == "queues" {
						o = bedOptions{queueTap: tp.record}
					}
					o.trusted, o.backend, o.allowPlaintext = c.trusted, backend, true
					canaryRoundTrip(t, newTestbed(t, o), tp, c.wantVisible)
				})
			}
		}
		t.Run(backend+"/another instance", func(t *testing.T) {
			tb := newTestbed(t, bedOptions{trusted: [2]bool{true, true}, backend: backend, remote: true})
			alice := tb.info(t, "alice")
			carol := diggi.Info{ID: alice.ID + 100, Name: "carol", Kind: "sink-a", Instance: "remote", Trusted: true}
			if p := tb.factory.Protection(alice, carol); p != trust.Encrypted {
				t.Fatalf("to another instance: %v", p)
			}
			ch, err := tb.factory.Channel(alice, carol)
			if err != nil || ch == nil {
				t.Fatalf("no sealed channel to another instance: %v, %v", ch, err)
			}
			if got := tb.factory.Protection(alice, tb.info(t, "bob")); (got == trust.InDomain) != oneDomain {
				t.Fatalf("same instance: %v", got)
			}
		})
	}
}
