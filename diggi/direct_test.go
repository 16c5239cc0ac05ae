package diggi

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// Senders deliver directly when nothing of theirs is queued and take the
// outbound queue otherwise; with a small queue and a receiver that stalls
// now and then, both paths alternate, and per-sender order must hold.
func TestDirectAndQueuedDeliveryKeepOrder(t *testing.T) {
	const n = 20000
	for _, tc := range []struct {
		name   string
		router Router
	}{{"default router", nil}, {"custom router", RouterFunc(func(m *Message, f Forwarder) { _ = f.Forward(m) })}} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			next := map[AgentID]uint64{}
			got := 0
			var bad string
			recv := &hookAgent{receive: func(ctx *Context, m *Message) {
				v := binary.BigEndian.Uint64(m.Payload())
				if v != next[m.Src] && bad == "" {
					bad = fmt.Sprintf("from %s: got %d, want %d", m.Src, v, next[m.Src])
				}
				next[m.Src] = v + 1
				if v%1000 == 999 {
					time.Sleep(50 * time.Microsecond) // let the queues fill
				}
				if got++; got == 2*n {
					close(done)
				}
			}}
			a, b := &hookAgent{}, &hookAgent{}
			in := testInstanceQ(t, 8, InstanceOptions{Router: tc.router, Logger: quietLog()}, []string{"recv", "a", "b"}, recv, a, b)
			dst, _ := in.Directory().Lookup("recv")
			for _, name := range []string{"a", "b"} {
				ctx, _ := in.Context(name)
				_ = ctx.Scheduler().Schedule(func() {
					var buf [8]byte
					for i := uint64(0); i < n; i++ {
						binary.BigEndian.PutUint64(buf[:], i)
						if err := ctx.Messages().Send(dst.ID, buf[:]); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			waitFor(t, done, 20*time.Second, "all messages")
			var verdict string
			inAgent(t, in, "recv", func(*Context) { verdict = bad })
			if verdict != "" {
				t.Fatal(verdict)
			}
		})
	}
}

// A Call's response may be dispatched by the goroutine that delivers it,
// but never ahead of an earlier message from the same sender.
func TestCallResponseDoesNotOvertakeEarlierMessage(t *testing.T) {
	const rounds = 2000
	notes := 0
	server := &hookAgent{init: func(ctx *Context) error {
		ctx.Messages().Subscribe(TypeRequest, func(m *Message) {
			if err := ctx.Messages().Send(m.Src, []byte("note")); err != nil {
				t.Error(err)
			}
			_ = ctx.Messages().Reply(m, m.Payload())
		})
		return nil
	}}
	client := &hookAgent{receive: func(ctx *Context, m *Message) { notes++ }}
	in := testInstance(t, InstanceOptions{Logger: quietLog()}, []string{"server", "client"}, server, client)
	srv, _ := in.Directory().Lookup("server")
	ctx, _ := in.Context("client")
	done := make(chan struct{})
	_ = ctx.Scheduler().Schedule(func() {
		defer close(done)
		for i := 1; i <= rounds; i++ {
			out, err := ctx.Messages().Call(context.Background(), srv.ID, []byte{byte(i)})
			if err != nil || len(out) != 1 || out[0] != byte(i) {
				t.Errorf("call %d: %v %v", i, out, err)
				return
			}
			if notes != i {
				t.Errorf("call %d returned after %d notes: the response overtook the note", i, notes)
				return
			}
		}
	})
	waitFor(t, done, 20*time.Second, "calls")
}
