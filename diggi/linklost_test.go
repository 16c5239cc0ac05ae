package diggi

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHandshakeTimeoutFailsWaiters: the first handshake message is lost
// (as one dropped while a link is down is). The request held for that
// handshake fails with ErrHandshakeTimeout once the bound passes, instead
// of waiting for a peer that never heard of it, and the next message
// starts a new handshake and is delivered.
func TestHandshakeTimeoutFailsWaiters(t *testing.T) {
	old := handshakeTimeout
	handshakeTimeout = 200 * time.Millisecond
	defer func() { handshakeTimeout = old }()
	in, router, got := hsPair(t, false)
	var dropped atomic.Int32
	router.setTamper(func(m *Message, f Forwarder) bool {
		if m.Type == TypeHandshake && dropped.CompareAndSwap(0, 1) {
			Release(m)
			return true
		}
		return false
	})
	dst, _ := in.Directory().Lookup("recv")
	inAgent(t, in, "send", func(ctx *Context) {
		done := make(chan error, 1)
		start := time.Now()
		if err := ctx.Messages().Request(dst.ID, []byte("q"), func(_ *Message, err error) { done <- err }); err != nil {
			t.Fatal(err)
		}
		ctx.Scheduler().Block(func() {
			select {
			case err := <-done:
				if !errors.Is(err, ErrHandshakeTimeout) {
					t.Errorf("request over a lost handshake: %v, want ErrHandshakeTimeout", err)
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("request failed after %v", d)
				}
			case <-time.After(5 * time.Second):
				t.Error("request over a lost handshake never failed")
			}
		})
		if err := ctx.Messages().Send(dst.ID, []byte("after")); err != nil {
			t.Error(err)
		}
	})
	if dropped.Load() != 1 {
		t.Fatal("no handshake message was dropped")
	}
	expect(t, got, "after")
}

// TestLinkLostNotice: the runtime's TypeLinkLost reaches a subscribed
// handler with the instance it names; the same type posted by an agent is
// refused (only the runtime may say a link broke).
func TestLinkLostNotice(t *testing.T) {
	lost := make(chan InstanceID, 4)
	recv := &hookAgent{init: func(ctx *Context) error {
		ctx.Messages().Subscribe(TypeLinkLost, func(m *Message) {
			if inst, ok := LinkLostPeer(m); ok {
				lost <- inst
			}
		})
		return nil
	}}
	reg := NewRegistry()
	reg.Register("recv", func() Agent { return recv })
	reg.Register("send", func() Agent { return &hookAgent{} })
	in := startInstance(t, Config{Instance: "t", Agents: []AgentConfig{{Name: "recv", Kind: "recv"}, {Name: "send", Kind: "send"}}},
		InstanceOptions{Registry: reg, Logger: quietLog()})
	dst, _ := in.Directory().Lookup("recv")
	inAgent(t, in, "send", func(ctx *Context) {
		if err := ctx.Messages().Post(dst.ID, TypeLinkLost, 0, []byte{0, 0, 0, 9}); err != nil {
			t.Error(err)
		}
	})
	in.LinkLost(7, nil, nil)
	select {
	case inst := <-lost:
		if inst != 7 {
			t.Fatalf("notice for instance %d, want 7 (an agent's forgery got through)", inst)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notice")
	}
	select {
	case inst := <-lost:
		t.Fatalf("second notice for %d", inst)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestFailedHandshakeTellsChannelLost: a handshake that times out with a
// message held for it, or that the peer's evidence fails, drops what was
// held; the manager tells the agent's OnChannelLost function which peer
// and why, once its own state is final (the function may send again).
func TestFailedHandshakeTellsChannelLost(t *testing.T) {
	old := handshakeTimeout
	handshakeTimeout = 200 * time.Millisecond
	defer func() { handshakeTimeout = old }()
	for _, c := range []struct {
		name string
		fail bool // the receiver refuses the opener's evidence
		want error
	}{
		{"timeout", false, ErrHandshakeTimeout},
		{"refused", true, nil}, // hsChannel's "evidence refused"
	} {
		t.Run(c.name, func(t *testing.T) {
			in, router, _ := hsPair(t, c.fail)
			if !c.fail {
				router.setTamper(func(m *Message, f Forwarder) bool {
					if m.Type == TypeHandshake {
						Release(m) // every handshake message is lost
						return true
					}
					return false
				})
			}
			// "recv" has the lower id and opens; "send" steps its
			// opening, and refuses it in the refused case.
			sender := "send"
			peer, _ := in.Directory().Lookup("recv")
			lost := make(chan error, 4)
			inAgent(t, in, sender, func(ctx *Context) {
				ctx.Messages().OnChannelLost(func(p AgentID, err error) {
					if p != peer.ID {
						t.Errorf("channel lost to %v, want %v", p, peer.ID)
					}
					// The manager's state is final: sending again starts
					// a new handshake, or fails with the refusal.
					_ = ctx.Messages().TryPost(p, TypeRegular, 0, []byte("again"))
					lost <- err
				})
				if err := ctx.Messages().Send(peer.ID, []byte("held")); err != nil {
					t.Error(err)
				}
			})
			select {
			case err := <-lost:
				if c.want != nil && !errors.Is(err, c.want) {
					t.Fatalf("channel lost: %v, want %v", err, c.want)
				}
				if err == nil || (c.fail && !strings.Contains(err.Error(), "evidence refused")) {
					t.Fatalf("channel lost: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the failed handshake was never told")
			}
		})
	}
}
