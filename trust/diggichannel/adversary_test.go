package diggichannel

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/securecached/securecached/diggi"
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
}

func (r *attackRouter) Route(m *diggi.Message, fwd diggi.Forwarder) {
	r.mu.Lock()
	defer r.mu.Unlock()
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
// flips bits, rewrites headers, drops, reorders, replays and injects. No
// corrupted or replayed payload reaches bob, and every attack is refused,
// counted by the manager and by the channel.
func TestAdversarialRouter(t *testing.T) {
	const n, k = 20, 10
	cases := []struct {
		attack    string
		delivered int // payloads bob must receive (a prefix of what was sent)
	}{
		{"flip", k}, {"header", k}, {"drop", k}, {"reorder", k},
		{"replay", n}, {"replay-old", n}, {"inject", n},
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
			waitUntil(t, "bob to process every delivery", func() bool {
				seen, delivered := r.progress()
				st := tb.stats(t, "bob")
				// Received counts a message when its dispatch starts,
				// Rejected when its channel refused it.
				return seen == n && int(st.Received) == delivered &&
					len(tb.bob.payloads())+int(st.Rejected) == delivered
			})
			_, delivered := r.progress()
			got := tb.bob.payloads()
			if len(got) != c.delivered {
				t.Fatalf("bob received %d payloads, want %d", len(got), c.delivered)
			}
			for i, p := range got {
				if !bytes.Equal(p, payload(i)) {
					t.Fatalf("payload %d = %q: corrupted, replayed or out of order", i, p)
				}
			}
			refused := delivered - len(got)
			st := tb.stats(t, "bob")
			cs := tb.factory.Stats()
			if !r.attackHit || refused == 0 || int(st.Rejected) != refused || int(cs.Refused()) != refused {
				t.Fatalf("attack undetected or miscounted: refused %d, manager %+v, channels %+v", refused, st, cs)
			}
			if cs.Rekeys == 0 {
				t.Fatal("keys never rotated")
			}
		})
	}
}
