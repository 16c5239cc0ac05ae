package diggi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestFIFOPerSender(t *testing.T) {
	const senders, n = 3, 5000
	done := make(chan struct{})
	last := map[AgentID]uint64{}
	got := 0
	var bad []string
	recv := &hookAgent{receive: func(ctx *Context, m *Message) {
		v := binary.BigEndian.Uint64(m.Payload())
		if v != last[m.Src]+1 {
			bad = append(bad, fmt.Sprintf("from %s: got %d after %d", m.Src, v, last[m.Src]))
		}
		last[m.Src] = v
		got++
		if got == senders*n {
			close(done)
		}
	}}
	agents := []*hookAgent{recv}
	names := []string{"recv"}
	for i := 0; i < senders; i++ {
		agents = append(agents, &hookAgent{start: func(ctx *Context) error {
			dst, _ := ctx.Directory().Lookup("recv")
			return ctx.Scheduler().Schedule(func() {
				var b [8]byte
				for v := uint64(1); v <= n; v++ {
					binary.BigEndian.PutUint64(b[:], v)
					if err := ctx.Messages().Send(dst.ID, b[:]); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}})
		names = append(names, fmt.Sprintf("send%d", i))
	}
	in := testInstance(t, InstanceOptions{}, names, agents...)
	waitFor(t, done, 20*time.Second, "all messages")
	inAgent(t, in, "recv", func(*Context) {
		if len(bad) > 0 {
			t.Fatalf("%d out-of-order deliveries, first: %s", len(bad), bad[0])
		}
	})
}

func TestUnknownDestination(t *testing.T) {
	a := &hookAgent{}
	in := testInstance(t, InstanceOptions{}, []string{"a"}, a)
	inAgent(t, in, "a", func(ctx *Context) {
		for _, dst := range []AgentID{MakeAgentID(in.ID(), 99), MakeAgentID(in.ID()+1, 1), NoAgent} {
			if err := ctx.Messages().Send(dst, []byte("x")); !errors.Is(err, ErrUnknownAgent) {
				t.Errorf("send to %s: got %v, want ErrUnknownAgent", dst, err)
			}
		}
	})
}

func TestRequestResponse(t *testing.T) {
	server := &hookAgent{init: func(ctx *Context) error {
		ctx.Messages().Subscribe(TypeRequest, func(m *Message) {
			if string(m.Payload()) == "fail" {
				_ = ctx.Messages().ReplyError(m, "refused")
				return
			}
			_ = ctx.Messages().Reply(m, append([]byte("re:"), m.Payload()...))
		})
		return nil
	}}
	client := &hookAgent{}
	in := testInstance(t, InstanceOptions{}, []string{"server", "client"}, server, client)
	srv, _ := in.Directory().Lookup("server")
	done := make(chan struct{})
	inAgent(t, in, "client", func(ctx *Context) {
		// Blocking form.
		out, err := ctx.Messages().Call(context.Background(), srv.ID, []byte("a"))
		if err != nil || string(out) != "re:a" {
			t.Errorf("Call: %q, %v", out, err)
		}
		_, err = ctx.Messages().Call(context.Background(), srv.ID, []byte("fail"))
		var re *RemoteError
		if !errors.As(err, &re) || re.Text != "refused" || re.From != srv.ID {
			t.Errorf("Call error: %v", err)
		}
		// Callback form.
		err = ctx.Messages().Request(srv.ID, []byte("b"), func(r *Message, err error) {
			if err != nil || string(r.Payload()) != "re:b" {
				t.Errorf("Request callback: %v", err)
			}
			close(done)
		})
		if err != nil {
			t.Error(err)
		}
	})
	waitFor(t, done, 5*time.Second, "callback")
}

func TestCallTimesOutAndOtherTasksRun(t *testing.T) {
	server := &hookAgent{init: func(ctx *Context) error {
		ctx.Messages().Subscribe(TypeRequest, func(m *Message) {}) // never answers
		return nil
	}}
	client := &hookAgent{}
	in := testInstance(t, InstanceOptions{}, []string{"server", "client"}, server, client)
	srv, _ := in.Directory().Lookup("server")
	cctx, _ := in.Context("client")
	ran := make(chan struct{})
	finished := make(chan struct{})
	err := cctx.Scheduler().Schedule(func() {
		defer close(finished)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := cctx.Scheduler().Schedule(func() { close(ran) }); err != nil {
			t.Error(err)
		}
		if _, err := cctx.Messages().Call(ctx, srv.ID, []byte("q")); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Call: %v, want deadline exceeded", err)
		}
		select {
		case <-ran:
		default:
			t.Error("the task scheduled before the blocking call did not run while it waited")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, finished, 5*time.Second, "call")
}

// Two agents flood each other from a task and from their handlers, with
// small queues: back-pressure must hold every message, without deadlock,
// loss or duplication.
func TestBackPressureNoDeadlock(t *testing.T) {
	const n = 5000
	type counts struct {
		pings, echoes int
		bad           string
		done          chan struct{}
	}
	mk := func(peer string, c *counts) *hookAgent {
		return &hookAgent{
			init: func(ctx *Context) error {
				ctx.Messages().Subscribe(TypeUser, func(*Message) {
					c.echoes++
					if c.echoes == n/2 && c.pings == n {
						close(c.done)
					}
				})
				return nil
			},
			start: func(ctx *Context) error {
				p, _ := ctx.Directory().Lookup(peer)
				return ctx.Scheduler().Schedule(func() {
					var b [8]byte
					for i := 1; i <= n; i++ {
						binary.BigEndian.PutUint64(b[:], uint64(i))
						if err := ctx.Messages().Send(p.ID, b[:]); err != nil {
							t.Error(err)
							return
						}
					}
				})
			},
			receive: func(ctx *Context, m *Message) {
				c.pings++
				if v := binary.BigEndian.Uint64(m.Payload()); v != uint64(c.pings) && c.bad == "" {
					c.bad = fmt.Sprintf("ping %d arrived as number %d", v, c.pings)
				}
				// Answer every other ping from the handler: a send while
				// delivering, into a peer whose queues are full.
				if c.pings%2 == 0 {
					if err := ctx.Messages().Post(m.Src, TypeUser, 0, []byte("echo")); err != nil {
						t.Error(err)
					}
				}
				if c.echoes == n/2 && c.pings == n {
					close(c.done)
				}
			},
		}
	}
	ca := &counts{done: make(chan struct{})}
	cb := &counts{done: make(chan struct{})}
	in := testInstanceQ(t, 16, InstanceOptions{}, []string{"a", "b"}, mk("b", ca), mk("a", cb))
	waitFor(t, ca.done, 30*time.Second, "a's pings and echoes")
	waitFor(t, cb.done, 30*time.Second, "b's pings and echoes")
	for _, name := range []string{"a", "b"} {
		c := ca
		if name == "b" {
			c = cb
		}
		inAgent(t, in, name, func(*Context) {
			if c.bad != "" || c.pings != n || c.echoes != n/2 {
				t.Errorf("%s: pings %d echoes %d: %s", name, c.pings, c.echoes, c.bad)
			}
		})
	}
}
