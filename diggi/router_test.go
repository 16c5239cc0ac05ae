package diggi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"
)

// testChannel is a toy authenticated channel (keystream XOR plus an HMAC
// over the header fields and ciphertext, with strictly increasing Seq) that
// exercises the Channel seam the trust package fills with real AEAD.
type testChannel struct {
	key     []byte
	lastIn  uint64
	sealErr error
}

const tagLen = 32

func (c *testChannel) Overhead() int { return tagLen }

func (c *testChannel) mac(h *Header, ct []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	var b [33]byte
	binary.BigEndian.PutUint64(b[0:], uint64(h.Src))
	binary.BigEndian.PutUint64(b[8:], uint64(h.Dst))
	b[16] = byte(h.Type)
	binary.BigEndian.PutUint64(b[17:], h.Session)
	binary.BigEndian.PutUint64(b[25:], h.Seq)
	m.Write(b[:])
	m.Write(ct)
	return m.Sum(nil)
}

func (c *testChannel) xor(h *Header, dst, src []byte) {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], h.Seq)
	for i := 0; i < len(src); i += 32 {
		ks := sha256.Sum256(append(append(append([]byte(nil), c.key...), seed[:]...), byte(i/32), byte(i/32>>8), byte(i/32>>16)))
		for j := 0; j < 32 && i+j < len(src); j++ {
			dst[i+j] = src[i+j] ^ ks[j]
		}
	}
}

func (c *testChannel) Seal(out []byte, h *Header, prefix, pt []byte) ([]byte, error) {
	if c.sealErr != nil {
		return nil, c.sealErr
	}
	if len(prefix) > 0 {
		pt = append(append([]byte(nil), prefix...), pt...)
	}
	n := len(out)
	out = append(out, make([]byte, len(pt))...)
	c.xor(h, out[n:], pt)
	return append(out, c.mac(h, out[n:])...), nil
}

func (c *testChannel) Open(out []byte, h *Header, sealed []byte) ([]byte, error) {
	if len(sealed) < tagLen {
		return nil, errors.New("short")
	}
	ct, tag := sealed[:len(sealed)-tagLen], sealed[len(sealed)-tagLen:]
	if !hmac.Equal(tag, c.mac(h, ct)) {
		return nil, errors.New("bad tag")
	}
	if h.Seq <= c.lastIn {
		return nil, errors.New("replayed or reordered")
	}
	c.lastIn = h.Seq
	pt := make([]byte, len(ct))
	c.xor(h, pt, ct)
	return append(out, pt...), nil
}

// pairKey gives both ends of a pair the same key.
func pairKey(a, b AgentID) []byte {
	if a > b {
		a, b = b, a
	}
	var k [16]byte
	binary.BigEndian.PutUint64(k[:], uint64(a))
	binary.BigEndian.PutUint64(k[8:], uint64(b))
	return k[:]
}

func channels(self, peer Info) (Channel, error) {
	if !self.Trusted && !peer.Trusted {
		return nil, nil
	}
	return &testChannel{key: pairKey(self.ID, peer.ID)}, nil
}

// tapRouter records every payload byte that passes and lets a test tamper.
type tapRouter struct {
	mu      sync.Mutex
	seen    [][]byte
	tamper  func(m *Message, f Forwarder) bool // true: handled
	enabled bool
}

func (r *tapRouter) Route(m *Message, f Forwarder) {
	r.mu.Lock()
	r.seen = append(r.seen, append(m.Header.AppendBinary(nil), m.Payload()...))
	tamper := r.tamper
	r.mu.Unlock()
	if tamper != nil && tamper(m, f) {
		return
	}
	f.Forward(m)
}

func (r *tapRouter) sawBytes(b []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.seen {
		if bytes.Contains(s, b) {
			return true
		}
	}
	return false
}

func (r *tapRouter) setTamper(f func(m *Message, fw Forwarder) bool) {
	r.mu.Lock()
	r.tamper = f
	r.mu.Unlock()
}

// trustedPair boots a trusted receiver and a sender with the test channel
// and a tap router; the receiver records what its handler saw.
func trustedPair(t *testing.T) (*Instance, *tapRouter, chan string) {
	got := make(chan string, 100)
	recv := &hookAgent{
		init: func(ctx *Context) error {
			ctx.Messages().Subscribe(TypeRequest, func(m *Message) {
				_ = ctx.Messages().Reply(m, append([]byte("echo:"), m.Payload()...))
			})
			return nil
		},
		receive: func(ctx *Context, m *Message) { got <- string(m.Payload()) },
	}
	router := &tapRouter{}
	reg := NewRegistry()
	reg.Register("recv", func() Agent { return recv })
	reg.Register("send", func() Agent { return &hookAgent{} })
	in := startInstance(t, Config{Instance: "t", Agents: []AgentConfig{
		{Name: "recv", Kind: "recv", Trusted: true}, {Name: "send", Kind: "send", Trusted: true},
	}}, InstanceOptions{Registry: reg, Router: router, Channels: channels, Logger: quietLog()})
	return in, router, got
}

func send(t *testing.T, in *Instance, payload string) {
	t.Helper()
	dst, _ := in.Directory().Lookup("recv")
	inAgent(t, in, "send", func(ctx *Context) {
		if err := ctx.Messages().Send(dst.ID, []byte(payload)); err != nil {
			t.Error(err)
		}
	})
}

func expect(t *testing.T, got chan string, want string) {
	t.Helper()
	select {
	case g := <-got:
		if g != want {
			t.Fatalf("delivered %q, want %q", g, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%q not delivered", want)
	}
}

func expectNothing(t *testing.T, got chan string) {
	t.Helper()
	select {
	case g := <-got:
		t.Fatalf("delivered %q, want nothing", g)
	case <-time.After(50 * time.Millisecond):
	}
}

func rejected(in *Instance) uint64 {
	ctx, _ := in.Context("recv")
	return ctx.Messages().Stats().Rejected
}

func TestChannelSealsBeforeTheRouter(t *testing.T) {
	in, router, got := trustedPair(t)
	canary := "CANARY-7f3a9c-secret"
	send(t, in, canary)
	expect(t, got, canary)
	if router.sawBytes([]byte(canary)) {
		t.Fatal("the canary crossed the router in plaintext")
	}
	// Request/response through the channel both ways.
	dst, _ := in.Directory().Lookup("recv")
	inAgent(t, in, "send", func(ctx *Context) {
		ctx.Scheduler().Block(func() {}) // a blocking call inside a task is fine
		out, err := ctx.Messages().Call(context.Background(), dst.ID, []byte(canary))
		if err != nil || string(out) != "echo:"+canary {
			t.Errorf("Call: %q %v", out, err)
		}
	})
	if router.sawBytes([]byte(canary)) {
		t.Fatal("the canary crossed the router in plaintext in a request or response")
	}
}

func TestAdversarialRouterIsRejected(t *testing.T) {
	in, router, got := trustedPair(t)
	send(t, in, "first")
	expect(t, got, "first")

	// Flip a bit of the sealed payload.
	router.setTamper(func(m *Message, f Forwarder) bool {
		if m.Type == TypeRegular {
			m.Payload()[0] ^= 1
		}
		return false
	})
	send(t, in, "flipped")
	expectNothing(t, got)
	if rejected(in) != 1 {
		t.Fatalf("rejected %d after a bit flip", rejected(in))
	}

	// Replay: deliver a message twice.
	router.setTamper(func(m *Message, f Forwarder) bool {
		if m.Type == TypeRegular {
			f.Forward(m.Clone())
		}
		return false
	})
	send(t, in, "once")
	expect(t, got, "once")
	expectNothing(t, got)
	if rejected(in) != 2 {
		t.Fatalf("rejected %d after a replay", rejected(in))
	}

	// Reorder: hold one message back and deliver it after the next.
	var held *Message
	router.setTamper(func(m *Message, f Forwarder) bool {
		if m.Type != TypeRegular {
			return false
		}
		if held == nil {
			held = m
			return true
		}
		f.Forward(m)
		f.Forward(held)
		return true
	})
	send(t, in, "A")
	send(t, in, "B")
	expect(t, got, "B")
	expectNothing(t, got)
	if rejected(in) != 3 {
		t.Fatalf("rejected %d after a reorder", rejected(in))
	}

	// Inject: a forged plaintext message claiming to come from the sender,
	// and a downgrade (sealed flag dropped).
	router.setTamper(func(m *Message, f Forwarder) bool {
		if m.Type != TypeRegular {
			return false
		}
		forged := NewMessage(6)
		copy(forged.Payload(), "forged")
		forged.Header = Header{Src: m.Src, Dst: m.Dst, Type: TypeRegular, Len: 6, Seq: m.Seq + 100}
		f.Forward(forged)
		Release(m) // and drop the real one
		return true
	})
	send(t, in, "dropped")
	expectNothing(t, got)
	if rejected(in) != 4 {
		t.Fatalf("rejected %d after an injection", rejected(in))
	}
	router.setTamper(nil)
	send(t, in, "after")
	expect(t, got, "after")
}

func TestChannelFactoryErrorFailsSend(t *testing.T) {
	recv := &hookAgent{}
	reg := NewRegistry()
	reg.Register("a", func() Agent { return recv })
	reg.Register("b", func() Agent { return &hookAgent{} })
	in := startInstance(t, Config{Instance: "t", Agents: []AgentConfig{{Name: "a", Kind: "a"}, {Name: "b", Kind: "b"}}},
		InstanceOptions{Registry: reg, Logger: quietLog(), Channels: func(self, peer Info) (Channel, error) {
			return nil, errors.New("attestation refused")
		}})
	a, _ := in.Directory().Lookup("a")
	inAgent(t, in, "b", func(ctx *Context) {
		if err := ctx.Messages().Send(a.ID, []byte("x")); err == nil {
			t.Error("send without a channel succeeded")
		}
	})
}

func TestRequestToVanishedAgentIsAnswered(t *testing.T) {
	// The router forwards a request to an id nobody has: the runtime
	// answers with an error instead of leaving the caller waiting.
	router := RouterFunc(func(m *Message, f Forwarder) {
		if m.Type == TypeRequest || m.Type == TypeRegular {
			m.Dst = MakeAgentID(m.Dst.Instance(), 999)
		}
		f.Forward(m)
	})
	srv := &hookAgent{}
	in := testInstance(t, InstanceOptions{Router: router}, []string{"srv", "cli"}, srv, &hookAgent{})
	s, _ := in.Directory().Lookup("srv")
	inAgent(t, in, "cli", func(ctx *Context) {
		_, err := ctx.Messages().Call(context.Background(), s.ID, []byte("q"))
		var re *RemoteError
		if !errors.As(err, &re) || re.From.Local() != 0 {
			t.Errorf("call to vanished agent: %v", err)
		}
		if err := ctx.Messages().Send(s.ID, []byte("regular")); err != nil {
			t.Error(err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for in.RouterStats().Dropped == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := in.RouterStats(); st.Bounced != 1 || st.Dropped != 1 {
		t.Errorf("router stats %+v, want one bounce and one drop", st)
	}
}

// Two tasks of one agent send to a trusted peer through a tiny queue, so
// both keep waiting for room: messages must still leave in sequence order,
// or the peer's channel would reject them as reordered.
func TestWaitingSendersKeepSequenceOrder(t *testing.T) {
	const n = 3000
	got := 0
	done := make(chan struct{})
	recv := &hookAgent{receive: func(ctx *Context, m *Message) {
		got++
		if got == 2*n {
			close(done)
		}
	}}
	reg := NewRegistry()
	reg.Register("recv", func() Agent { return recv })
	reg.Register("send", func() Agent { return &hookAgent{} })
	in := startInstance(t, Config{Instance: "t", QueueSize: 4, Agents: []AgentConfig{
		{Name: "recv", Kind: "recv", Trusted: true}, {Name: "send", Kind: "send", Trusted: true},
	}}, InstanceOptions{Registry: reg, Channels: channels, Logger: quietLog()})
	dst, _ := in.Directory().Lookup("recv")
	sctx, _ := in.Context("send")
	for task := 0; task < 2; task++ {
		sctx.Scheduler().Schedule(func() {
			for i := 0; i < n; i++ {
				if err := sctx.Messages().Send(dst.ID, []byte("m")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	waitFor(t, done, 20*time.Second, "all messages")
	if r := rejected(in); r != 0 {
		t.Fatalf("%d messages rejected as out of order", r)
	}
}
