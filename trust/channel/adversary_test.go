package channel

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// An adversarial transport between two trusted agents: the untrusted
// runtime may flip bits, replay, reorder, drop, inject and splice records.
// The oracle: the receiver accepts a record iff it is byte-identical to the
// next record the sender sealed and no earlier gap broke the direction.
// Everything else is refused, counted and so detected.

type attack int

const (
	pass attack = iota
	flipBit
	replay
	reorder
	drop
	inject
	splice
	numAttacks
)

func (a attack) String() string {
	return [...]string{"pass", "flip", "replay", "reorder", "drop", "inject", "splice"}[a]
}

// wire applies one attack per sent record and returns what the receiver sees.
func wire(rng *rand.Rand, sent, foreign [][]byte, plan []attack) [][]byte {
	var out [][]byte
	for i := 0; i < len(sent); i++ {
		r := sent[i]
		switch plan[i] {
		case pass:
			out = append(out, r)
		case flipBit:
			f := bytes.Clone(r)
			bit := rng.IntN(len(f) * 8)
			f[bit/8] ^= 1 << (bit % 8)
			out = append(out, f)
		case replay:
			out = append(out, r, sent[rng.IntN(i+1)])
		case reorder:
			if i+1 < len(sent) {
				out = append(out, sent[i+1], r)
				i++ // the next record was already delivered
			} else {
				out = append(out, r)
			}
		case drop:
		case inject:
			junk := make([]byte, rng.IntN(2*Overhead+40))
			for j := range junk {
				junk[j] = byte(rng.Uint32())
			}
			if len(junk) >= Overhead && rng.IntN(2) == 0 {
				// A plausible trailer on a forged body.
				putTrailer(junk[len(junk)-TrailerLen:], 0, uint64(i+1))
			}
			out = append(out, junk, r)
		case splice:
			out = append(out, foreign[i], r)
		}
	}
	return out
}

type outcome struct {
	delivered      [][]byte
	refused        int
	wrongDecisions []string
}

// runOracle feeds delivered records to the receiver and checks every
// decision against the model.
func runOracle(t *testing.T, rx *Channel, sent, plain [][]byte, delivered [][]byte) outcome {
	t.Helper()
	var o outcome
	next, broken := 0, false
	for k, rec := range delivered {
		genuine := -1
		for j := range sent {
			if bytes.Equal(rec, sent[j]) {
				genuine = j
				break
			}
		}
		shouldAccept := !broken && genuine == next
		pt, err := rx.Open(nil, rec, []byte("aad"))
		switch {
		case shouldAccept && err != nil:
			o.wrongDecisions = append(o.wrongDecisions, fmt.Sprintf("record %d (genuine %d) refused: %v", k, genuine, err))
		case !shouldAccept && err == nil:
			o.wrongDecisions = append(o.wrongDecisions, fmt.Sprintf("record %d (genuine %d, expected %d) ACCEPTED as %q", k, genuine, next, pt))
		case err == nil:
			if !bytes.Equal(pt, plain[next]) {
				o.wrongDecisions = append(o.wrongDecisions, fmt.Sprintf("record %d decrypted to the wrong payload", k))
			}
			o.delivered = append(o.delivered, pt)
			next++
		default:
			o.refused++
			if !broken && genuine > next {
				broken = true // a gap: the model breaks too
			}
		}
	}
	return o
}

func seal(t *testing.T, tx *Channel, n int, tag string) (records, plain [][]byte) {
	t.Helper()
	for i := range n {
		p := fmt.Appendf(nil, "%s payload %d", tag, i)
		rec, err := tx.Seal(nil, p, []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		records, plain = append(records, rec), append(plain, p)
	}
	return records, plain
}

func TestAdversarialTransportEachAttack(t *testing.T) {
	w := newWorld(t)
	const n, at = 30, 12
	for a := flipBit; a < numAttacks; a++ {
		t.Run(a.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(a), 1))
			tx, rx := trustedPair(t, w, Config{RekeyMessages: 8})
			other, _ := trustedPair(t, w, Config{RekeyMessages: 8})
			sent, plain := seal(t, tx, n, "secret")
			foreign, _ := seal(t, other, n, "foreign")
			plan := make([]attack, n)
			plan[at] = a
			o := runOracle(t, rx, sent, plain, wire(rng, sent, foreign, plan))
			for _, e := range o.wrongDecisions {
				t.Error(e)
			}
			st := rx.Stats()
			if uint64(o.refused) != st.Refused() || o.refused == 0 {
				t.Fatalf("refused %d, stats %+v: attack not detected or not counted", o.refused, st)
			}
			switch a {
			case replay, inject, splice:
				// Refused without harm: every genuine record still arrives.
				if len(o.delivered) != n {
					t.Fatalf("delivered %d of %d", len(o.delivered), n)
				}
			default:
				// The stream lost a record: delivery stops at the hole.
				if len(o.delivered) != at || st.Gaps+st.Tampered+st.Malformed+st.Replayed == 0 {
					t.Fatalf("delivered %d, want %d; stats %+v", len(o.delivered), at, st)
				}
			}
		})
	}
}

func TestAdversarialTransportRandomSchedules(t *testing.T) {
	w := newWorld(t)
	rng := rand.New(rand.NewPCG(42, 42))
	attacked, detected := 0, 0
	for episode := range 60 {
		tx, rx := trustedPair(t, w, Config{RekeyMessages: uint64(3 + episode%10)})
		other, _ := trustedPair(t, w, Config{})
		const n = 25
		sent, plain := seal(t, tx, n, "secret")
		foreign, _ := seal(t, other, n, "foreign")
		plan := make([]attack, n)
		for i := range plan {
			if rng.IntN(6) == 0 {
				plan[i] = attack(1 + rng.IntN(int(numAttacks)-1))
				attacked++
			}
		}
		o := runOracle(t, rx, sent, plain, wire(rng, sent, foreign, plan))
		for _, e := range o.wrongDecisions {
			t.Errorf("episode %d: %s", episode, e)
		}
		if uint64(o.refused) != rx.Stats().Refused() {
			t.Fatalf("episode %d: refusals %d, counted %d", episode, o.refused, rx.Stats().Refused())
		}
		// Delivered payloads are a prefix of what was sent, in order.
		for i, p := range o.delivered {
			if !bytes.Equal(p, plain[i]) {
				t.Fatalf("episode %d: payload %d out of order or corrupted", episode, i)
			}
		}
		if o.refused > 0 {
			detected++
		}
	}
	if attacked == 0 || detected == 0 {
		t.Fatalf("schedule did not attack (attacked %d, detected %d)", attacked, detected)
	}
}
