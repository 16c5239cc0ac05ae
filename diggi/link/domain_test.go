package link

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
)

// queueTap records every message the untrusted queues of an instance are
// offered, header and payload.
type queueTap struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int
}

func (q *queueTap) record(m *diggi.Message) {
	q.mu.Lock()
	q.buf.Write(m.Header.AppendBinary(nil))
	q.buf.Write(m.Payload())
	q.n++
	q.mu.Unlock()
}

func (q *queueTap) contains(b []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return bytes.Contains(q.buf.Bytes(), b)
}

// TestLinkCanaryTrustDomains runs the canary per backend across a link:
// instance a (trusted agents tx1, tx2) and instance b (trusted agent rx),
// both on the backend. A canary from a/tx1 to b/rx, sent one way and as a
// request echoed back, never appears in a
// link frame, nor in a's queues: a message that leaves the instance is
// sealed by the agent on every backend. A canary from a/tx1 to a/tx2
// appears in a's queues only on sev-snp and tdx, where the instance is
// one confidential VM whose queues are protected memory; under sim each
// trusted agent is its own enclave and the queues between them see only
// ciphertext. The backends are testsim stand-ins: the seal decision is
// the real one, the evidence is sim's.
func TestLinkCanaryTrustDomains(t *testing.T) {
	for _, backend := range []string{trust.BackendSim, trust.BackendSNP, trust.BackendTDX} {
		t.Run(backend, func(t *testing.T) {
			w := testsim.New(t)
			cfgA := testpeers.Config("a", []string{"tx1", "tx2"}, true)
			cfgB := testpeers.Config("b", []string{"rx"}, true)
			all := []diggi.Config{cfgA, cfgB}
			frames, queues := &frameTap{}, &queueTap{}
			node := func(cfg diggi.Config, qt func(*diggi.Message)) *node {
				n := &node{Instance: testpeers.StartWith(t, w, testpeers.Options{Backend: w.StandIn(backend), QueueTap: qt}, cfg, all...)}
				e, v := testpeers.LinkIdentity(t, w)
				var err error
				if n.hub, err = New(Options{Instance: n.In, Address: "test", Trust: Trust{Enclave: e, Verifier: v}, Tap: frames.record, Logger: testpeers.Quiet}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(n.hub.Close)
				return n
			}
			a, b := node(cfgA, queues.record), node(cfgB, nil)
			link(t, a, b, nil)
			rx := a.WaitAgent(t, "b/rx")
			tx2 := a.WaitAgent(t, "a/tx2")
			cross := []byte("CANARY-cross-instance-51c9e0")
			intra := []byte("CANARY-intra-instance-a84d17")
			a.Run(t, "tx1", func(ctx *diggi.Context) error {
				if err := ctx.Messages().Send(tx2, intra); err != nil {
					return err
				}
				if err := ctx.Messages().Send(rx, cross); err != nil {
					return err
				}
				c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				resp, err := ctx.Messages().Call(c, rx, cross)
				if err == nil && !bytes.Equal(resp, cross) {
					t.Errorf("echo %q", resp)
				}
				return err
			})
			testpeers.WaitUntil(t, "both canaries", func() bool {
				return b.Agents["rx"].Count() == 1 && a.Agents["tx2"].Count() == 1
			})
			if !bytes.Equal(b.Agents["rx"].Payloads()[0], cross) || !bytes.Equal(a.Agents["tx2"].Payloads()[0], intra) {
				t.Fatal("an agent got something else")
			}
			if pa, _ := a.hub.Peer("b"); pa.Stats().MsgsOut == 0 {
				t.Fatal("nothing crossed the link")
			}
			if frames.contains(cross) {
				t.Fatal("the cross-instance canary is in a link frame")
			}
			if queues.contains(cross) {
				t.Fatal("the cross-instance canary is in a's queues")
			}
			oneDomain := trust.DomainOf(backend) == trust.DomainInstance
			if got := queues.contains(intra); got != oneDomain {
				t.Fatalf("intra-instance canary in a's queues: %v, want %v", got, oneDomain)
			}
		})
	}
}
