package diggichannel

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/trust/channel"
)

// attackRouter replaces the global message scheduler's routing step and
// attacks the k-th regular message from alice to bob.
type attackRouter struct {
	attack string
	k      int
	alice  diggi.AgentID
	rng    *rand.Rand

	mu        sync.Mutex
	n         int            // alice->bob regular messages seen
	toBob     int            // messages forwarded to bob from alice
	held      *diggi.Message // reorder
	first     *diggi.Message // a copy of the first message, for late replay
	attackHit bool
	handshake int // handshake messages carried
}

func (r *attackRouter) Route(m *diggi.Message, fwd diggi.Forwarder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.Type == diggi.TypeHandshake {
		r.handshake++
	}
	if m.Src != r.alice || m.Type != diggi.TypeRegular {
		_ = fwd.Forward(m)
		return
	}
	i := r.n
	r.n++
	forward := func(x *diggi.Message) {
		r.toBob++
		_ = fwd.Forward(x)
	}
	if i == 0 {
		r.first = m.Clone()
	}
	if r.held != nil {
		forward(m)
		forward(r.held)
		r.held = nil
		return
	}
	if i != r.k {
		forward(m)
		return
	}
	r.attackHit = true
	switch r.attack {
	case "flip":
		p := m.Payload()
		bit := r.rng.IntN(len(p) * 8)
		p[bit/8] ^= 1 << (bit % 8)
		forward(m)
	case "header":
		m.Session ^= 1 // the router rewrites the session it sees in clear
		forward(m)
	case "drop":
		diggi.Release(m)
	case "reorder":
		r.held = m
	case "replay":
		c := m.Clone()
		forward(m)
		forward(c)
	case "replay-old":
		forward(m)
		forward(r.first)
		r.first = nil
	case "inject":
		n := diggi.NewMessage(len(m.Payload()))
		n.Header = m.Header
		for j := range n.Payload() {
			n.Payload()[j] = byte(r.rng.Uint32())
		}
		forward(n)
		forward(m)
	default:
		panic("unknown attack " + r.attack)
	}
}

func (r *attackRouter) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first != nil {
		diggi.Release(r.first)
		r.first = nil
	}
}

// progress returns how many alice->bob messages the router saw and how
// many it forwarded to bob.
func (r *attackRouter) progress() (seen, delivered int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.toBob
}

func (r *attackRouter) setAlice(id diggi.AgentID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alice = id
}

// TestAdversarialRouter runs two trusted agents through a router that
// flips bits, rewrites headers, drops, reorders, replays and injects data
// messages. No corrupted, replayed or reordered payload reaches bob; every
// attack is refused and counted by the manager and by the channel; after an
// attack that breaks the stream (a lost record), the pair re-handshakes and
// traffic resumes.
func TestAdversarialRouter(t *testing.T) {
	const n, k = 20, 10
	cases := []struct {
		attack   string
		breaks   bool // the stream loses a record: later ones until re-keying are refused
		detected func(channel.Stats) bool
	}{
		{"flip", true, func(s channel.Stats) bool { return s.Tampered+s.Malformed+s.Replayed > 0 }},
		{"header", true, func(s channel.Stats) bool { return s.Tampered > 0 }},
		{"drop", true, func(s channel.Stats) bool { return s.Gaps > 0 }},
		{"reorder", true, func(s channel.Stats) bool { return s.Gaps > 0 }},
		{"replay", false, func(s channel.Stats) bool { return s.Replayed > 0 }},
		{"replay-old", false, func(s channel.Stats) bool { return s.Replayed > 0 }},
		{"inject", false, func(s channel.Stats) bool { return s.Tampered+s.Malformed > 0 }},
	}
	for _, c := range cases {
		t.Run(c.attack, func(t *testing.T) {
			r := &attackRouter{attack: c.attack, k: k, rng: rand.New(rand.NewPCG(uint64(len(c.attack)), 7))}
			tb := newTestbed(t, bedOptions{trusted: [2]bool{true, true}, router: r, rekey: 4})
			t.Cleanup(r.release)
			r.setAlice(tb.info(t, "alice").ID)
			bob := tb.info(t, "bob").ID
			for i := range n {
				tb.run(t, "alice", func(ctx *diggi.Context) error { return ctx.Messages().Send(bob, payload(i)) })
			}
			// Probe until one gets through: after a break the pair
			// re-handshakes and messages flow again.
			probe := 0
			waitUntil(t, "traffic to resume", func() bool {
				for _, p := range tb.bob.payloads() {
					if bytes.HasPrefix(p, []byte("probe")) {
						return true
					}
				}
				probe++
				tb.run(t, "alice", func(ctx *diggi.Context) error {
					return ctx.Messages().Send(bob, fmt.Appendf(nil, "probe %d", probe))
				})
				time.Sleep(20 * time.Millisecond)
				return false
			})
			last := -1
			got := 0
			for _, p := range tb.bob.payloads() {
				if bytes.HasPrefix(p, []byte("probe")) {
					continue
				}
				var i int
				if _, err := fmt.Sscanf(string(p), "payload %d", &i); err != nil || i <= last || i >= n || !bytes.Equal(p, payload(i)) {
					t.Fatalf("bob received %q after payload %d: corrupted, replayed or out of order", p, last)
				}
				last = i
				got++
			}
			switch {
			case !c.breaks && got != n:
				t.Fatalf("bob received %d of %d payloads", got, n)
			case c.breaks && (got < k || last >= n):
				t.Fatalf("bob received %d payloads up to %d", got, last)
			}
			if c.breaks && last >= k && c.attack != "reorder" {
				// The attacked record itself must never arrive.
				for _, p := range tb.bob.payloads() {
					if bytes.Equal(p, payload(k)) {
						t.Fatal("the attacked record was delivered")
					}
				}
			}
			st := tb.stats(t, "bob")
			cs := tb.factory.Stats()
			if !r.attackHit || st.Rejected == 0 || cs.Refused() == 0 || !c.detected(cs) {
				t.Fatalf("attack undetected or uncounted: manager %+v, channels %+v", st, cs)
			}
			if cs.Rekeys == 0 {
				t.Fatal("keys never rotated")
			}
			r.mu.Lock()
			hs := r.handshake
			r.mu.Unlock()
			// One handshake is four messages (both sides open, two replies).
			if c.breaks != (hs > 4) {
				t.Fatalf("%d handshake messages: re-handshake %v, want %v", hs, hs > 4, c.breaks)
			}
		})
	}
}

// TestTamperedLargePrefixedMessageRefused: a segment-sized message sealed
// from a header and a separate payload (Manager.TryPostPrefixed, the way
// diggi/posix sends socket data) arrives intact, and the same message with
// one bit flipped by the router is refused and counted, never delivered.
func TestTamperedLargePrefixedMessageRefused(t *testing.T) {
	const k = 1
	r := &attackRouter{attack: "flip", k: k, rng: rand.New(rand.NewPCG(19, 100))}
	tb := newTestbed(t, bedOptions{trusted: [2]bool{true, true}, router: r})
	t.Cleanup(r.release)
	r.setAlice(tb.info(t, "alice").ID)
	bob := tb.info(t, "bob").ID
	msg := func(i int) (hdr, body []byte) {
		hdr = fmt.Appendf(nil, "large %d:", i)
		body = bytes.Repeat([]byte{byte('a' + i)}, 32<<10)
		return hdr, body
	}
	for i := range 2 {
		hdr, body := msg(i)
		tb.run(t, "alice", func(ctx *diggi.Context) error {
			return ctx.Messages().TryPostPrefixed(bob, diggi.TypeRegular, 0, hdr, body)
		})
	}
	waitUntil(t, "the attacked message to be refused", func() bool { return tb.stats(t, "bob").Rejected > 0 })
	hdr, body := msg(0)
	got := tb.bob.payloads()
	if len(got) != 1 || !bytes.Equal(got[0], append(hdr, body...)) {
		t.Fatalf("bob received %d payloads; want only the first, intact", len(got))
	}
	if cs := tb.factory.Stats(); !r.attackHit || cs.Tampered == 0 {
		t.Fatalf("flipped large message not refused as tampered: %+v", cs)
	}
}
