package diggi

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// hsChannel is testChannel behind a toy handshake: the agent with the lower
// id opens ("hello"), the other answers ("welcome"); a side with nothing
// to open with pokes the opener. After a failed Open it reports Broken.
type hsChannel struct {
	testChannel
	opener bool
	ready  bool
	broken bool
	fail   bool
}

func (c *hsChannel) Begin() ([]byte, error) {
	if c.opener {
		return []byte("hello"), nil
	}
	return []byte("poke"), nil
}

func (c *hsChannel) Step(in []byte) ([]byte, bool, error) {
	switch string(in) {
	case "poke":
		return nil, false, nil
	case "hello":
		if c.fail {
			return nil, false, errors.New("evidence refused")
		}
		c.ready = true
		return []byte("welcome"), true, nil
	case "welcome":
		c.ready = true
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("unexpected handshake message %q", in)
}

func (c *hsChannel) Seal(out []byte, h *Header, prefix, pt []byte) ([]byte, error) {
	if !c.ready {
		return nil, errors.New("seal before handshake")
	}
	return c.testChannel.Seal(out, h, prefix, pt)
}

func (c *hsChannel) Open(out []byte, h *Header, sealed []byte) ([]byte, error) {
	b, err := c.testChannel.Open(out, h, sealed)
	if err != nil {
		c.broken = true
	}
	return b, err
}

func (c *hsChannel) Broken() bool { return c.broken }

func hsPair(t *testing.T, fail bool) (*Instance, *tapRouter, chan string) {
	t.Helper()
	got := make(chan string, 100)
	recv := &hookAgent{receive: func(ctx *Context, m *Message) { got <- string(m.Payload()) }}
	router := &tapRouter{}
	reg := NewRegistry()
	reg.Register("recv", func() Agent { return recv })
	reg.Register("send", func() Agent { return &hookAgent{} })
	factory := func(self, peer Info) (Channel, error) {
		return &hsChannel{testChannel: testChannel{key: pairKey(self.ID, peer.ID)}, opener: self.ID < peer.ID, fail: fail}, nil
	}
	in := startInstance(t, Config{Instance: "t", Agents: []AgentConfig{
		{Name: "recv", Kind: "recv", Trusted: true}, {Name: "send", Kind: "send", Trusted: true},
	}}, InstanceOptions{Registry: reg, Router: router, Channels: factory, Logger: quietLog()})
	return in, router, got
}

func TestHandshakeHoldsMessagesThenSealsInOrder(t *testing.T) {
	in, router, got := hsPair(t, false)
	dst, _ := in.Directory().Lookup("recv")
	// "send" has the higher id: it pokes, and its messages wait for the
	// handshake the receiver opens.
	inAgent(t, in, "send", func(ctx *Context) {
		for i := 0; i < 5; i++ {
			if err := ctx.Messages().Send(dst.ID, []byte(fmt.Sprintf("secret-%d", i))); err != nil {
				t.Error(err)
			}
		}
	})
	for i := 0; i < 5; i++ {
		expect(t, got, fmt.Sprintf("secret-%d", i))
	}
	if router.sawBytes([]byte("secret-")) {
		t.Error("held messages crossed the router in plaintext")
	}
	if !router.sawBytes([]byte("welcome")) {
		t.Error("handshake messages did not cross the router")
	}
}

func TestHandshakeFailureFailsHeldRequests(t *testing.T) {
	in, _, got := hsPair(t, true)
	dst, _ := in.Directory().Lookup("recv")
	inAgent(t, in, "send", func(ctx *Context) {
		done := make(chan error, 1)
		if err := ctx.Messages().Request(dst.ID, []byte("q"), func(_ *Message, err error) { done <- err }); err != nil {
			t.Fatal(err)
		}
		ctx.Scheduler().Block(func() {
			select {
			case err := <-done:
				if err == nil {
					t.Error("request over a failed handshake succeeded")
				}
			case <-time.After(5 * time.Second):
				t.Error("request over a failed handshake never failed")
			}
		})
		if err := ctx.Messages().Send(dst.ID, []byte("x")); err == nil {
			t.Error("send after a failed handshake succeeded")
		}
	})
	expectNothing(t, got)
}

func TestBrokenChannelIsRenegotiated(t *testing.T) {
	in, router, got := hsPair(t, false)
	dst, _ := in.Directory().Lookup("recv")
	sendOne := func(s string) {
		inAgent(t, in, "send", func(ctx *Context) {
			if err := ctx.Messages().Send(dst.ID, []byte(s)); err != nil {
				t.Error(err)
			}
		})
	}
	sendOne("before")
	expect(t, got, "before")
	router.setTamper(func(m *Message, f Forwarder) bool {
		if m.Type == TypeRegular {
			m.Payload()[0] ^= 1
		}
		return false
	})
	sendOne("tampered")
	expectNothing(t, got)
	router.setTamper(nil)
	// The receiver forgot the broken channel; the next messages restart the
	// handshake, and once it is done messages flow again.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		sendOne(fmt.Sprintf("after-%d", i))
		select {
		case g := <-got:
			if g[:6] != "after-" {
				t.Fatalf("delivered %q", g)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("channel never renegotiated")
		}
	}
}

// A blocking send that waits for room among the messages held during a
// handshake must send what the caller passed, even if the caller's buffer
// is reused by another task of the agent while it waits (posix does that
// with its segment scratch buffer).
func TestHeldSendCopiesPayloadBeforeWaiting(t *testing.T) {
	var count int
	last := make(chan string, 1)
	recv := &hookAgent{receive: func(ctx *Context, m *Message) {
		if count++; count == maxHeld+1 {
			last <- string(m.Payload())
		}
	}}
	reg := NewRegistry()
	reg.Register("recv", func() Agent { return recv })
	reg.Register("send", func() Agent { return &hookAgent{} })
	factory := func(self, peer Info) (Channel, error) {
		return &hsChannel{testChannel: testChannel{key: pairKey(self.ID, peer.ID)}, opener: self.ID < peer.ID}, nil
	}
	in := startInstance(t, Config{Instance: "t", Agents: []AgentConfig{
		{Name: "recv", Kind: "recv", Trusted: true}, {Name: "send", Kind: "send", Trusted: true},
	}}, InstanceOptions{Registry: reg, Channels: factory, Logger: quietLog()})
	dst, _ := in.Directory().Lookup("recv")
	inAgent(t, in, "send", func(ctx *Context) {
		buf := []byte("original")
		// Runs when the last send below waits, before the handshake can
		// finish (that needs this agent's baton too).
		_ = ctx.Scheduler().Schedule(func() { copy(buf, "CLOBBERD") })
		for range maxHeld + 1 {
			if err := ctx.Messages().Send(dst.ID, buf); err != nil {
				t.Error(err)
				return
			}
		}
	})
	select {
	case got := <-last:
		if got != "original" {
			t.Fatalf("the send that waited delivered %q, want %q", got, "original")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the last message never arrived")
	}
}
