package link

import (
	"testing"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testpeers"
)

// forge makes a's live session to b write a message frame with the given
// header, as a compromised peer runtime would: straight onto the wire,
// past the local runtime's own addressing.
func forge(t *testing.T, a *node, peer string, h diggi.Header, payload []byte) {
	t.Helper()
	p := waitPeerUp(t, a, peer)
	p.mu.Lock()
	s := p.sess
	p.mu.Unlock()
	if s == nil {
		t.Fatal("no session to forge on")
	}
	h.Len = uint32(len(payload))
	f := appendFrameHeader(nil, kindMsg, diggi.HeaderSize+len(payload))
	f = append(h.AppendBinary(f), payload...)
	s.mu.Lock()
	s.ctrl = append(s.ctrl, f...) // the writer writes ctrl bytes as they are
	s.mu.Unlock()
	s.wakeWriter()
}

// TestLinkRefusesForeignSource: a link delivers only messages whose source
// is an agent of the link's own peer instance. A peer that sends as an
// agent of a third instance, or as an agent of the receiving instance
// itself, has its session torn down as a protocol violation, and the
// message reaches no agent. (A trusted agent's channel would refuse the
// forgery too; this is the runtime's own check, which untrusted agents and
// the directory rely on.)
func TestLinkRefusesForeignSource(t *testing.T) {
	a, b := pairOf(t, false, nil, nil)
	link(t, a, b, nil)
	rx := a.WaitAgent(t, "b/rx")
	slow := a.WaitAgent(t, "b/slow")
	third := diggi.MakeAgentID(a.In.ID()+b.In.ID()+1, 1)
	cases := []struct {
		name string
		src  diggi.AgentID
	}{
		{"a third instance's agent", third},
		{"the receiver's own agent", slow},
		{"the receiver's runtime, not an error response", diggi.MakeAgentID(b.In.ID(), 0)},
	}
	pb := waitPeerUp(t, b, "a")
	pa := waitPeerUp(t, a, "b")
	for i, c := range cases {
		before, sessions := pb.Stats(), pa.Stats().Sessions
		forge(t, a, "b", diggi.Header{Src: c.src, Dst: rx, Type: diggi.TypeRegular}, []byte("forged"))
		testpeers.WaitUntil(t, c.name+": the session torn down", func() bool { return pb.Stats().Protocol > before.Protocol })
		if n := b.Agents["rx"].Count(); n != i {
			t.Fatalf("%s: rx got %d messages, want %d (only the genuine ones)", c.name, n, i)
		}
		// The link comes back, and a's own agent still gets through.
		testpeers.WaitUntil(t, c.name+": a new session", func() bool {
			return pa.Stats().Sessions > sessions && pa.Up() && pb.Up()
		})
		a.Run(t, "tx1", func(ctx *diggi.Context) error { return ctx.Messages().Send(rx, []byte("genuine")) })
		testpeers.WaitUntil(t, c.name+": a genuine message after the forgery", func() bool { return b.Agents["rx"].Count() == i+1 })
	}
	for _, p := range b.Agents["rx"].Payloads() {
		if string(p) != "genuine" {
			t.Fatalf("rx got %q", p)
		}
	}
}
