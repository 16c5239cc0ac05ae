package diggi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
)

// benchInstance boots agents for a benchmark without the test cleanup's
// leak checks getting in the way of b.N loops.
func benchInstance(b *testing.B, names []string, agents ...*hookAgent) *Instance {
	b.Helper()
	return testInstance(b, InstanceOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, names, agents...)
}

// BenchmarkRouterOneWay measures one-way messages per second between two
// agents of one instance, for the payload sizes of the thesis's Fig. 5.2.
func BenchmarkRouterOneWay(b *testing.B) {
	for size := 16; size <= 4096; size *= 2 {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			done := make(chan struct{})
			got := 0
			want := b.N
			recv := &hookAgent{receive: func(ctx *Context, m *Message) {
				got++
				if got == want {
					close(done)
				}
			}}
			send := &hookAgent{}
			in := benchInstance(b, []string{"recv", "send"}, recv, send)
			dst, _ := in.Directory().Lookup("recv")
			sctx, _ := in.Context("send")
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			_ = sctx.Scheduler().Schedule(func() {
				for i := 0; i < want; i++ {
					if err := sctx.Messages().Send(dst.ID, payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
			<-done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRequestResponse measures round trips per second from 1…6 client
// agents to one server agent (the shape of the thesis's Fig. 5.1). Each
// client keeps one request outstanding with the blocking Call.
func BenchmarkRequestResponse(b *testing.B) {
	for clients := 1; clients <= 6; clients++ {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			benchRoundTrips(b, clients, 1)
		})
	}
}

// BenchmarkRequestResponsePipelined is BenchmarkRequestResponse with 16
// requests in flight per client (callback form), which is how the
// message scheduler's saturation shows.
func BenchmarkRequestResponsePipelined(b *testing.B) {
	for clients := 1; clients <= 6; clients++ {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			benchRoundTrips(b, clients, 16)
		})
	}
}

func benchRoundTrips(b *testing.B, clients, window int) {
	server := &hookAgent{init: func(ctx *Context) error {
		ctx.Messages().Subscribe(TypeRequest, func(m *Message) {
			_ = ctx.Messages().Reply(m, m.Payload())
		})
		return nil
	}}
	names := []string{"server"}
	agents := []*hookAgent{server}
	for i := 0; i < clients; i++ {
		names = append(names, fmt.Sprintf("client%d", i))
		agents = append(agents, &hookAgent{})
	}
	in := benchInstance(b, names, agents...)
	srv, _ := in.Directory().Lookup("server")
	per := b.N / clients
	if per == 0 {
		per = 1
	}
	dones := make([]chan struct{}, clients)
	payload := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < clients; i++ {
		ctx, _ := in.Context(names[i+1])
		done := make(chan struct{})
		dones[i] = done
		mm := ctx.Messages()
		if window == 1 {
			_ = ctx.Scheduler().Schedule(func() {
				defer close(done)
				for j := 0; j < per; j++ {
					if _, err := mm.Call(context.Background(), srv.ID, payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
			continue
		}
		sent, got := 0, 0
		var cb func(*Message, error)
		cb = func(_ *Message, err error) {
			if err != nil {
				b.Error(err)
			}
			got++
			if got == per {
				close(done)
				return
			}
			if sent < per {
				sent++
				_ = mm.Request(srv.ID, payload, cb)
			}
		}
		_ = ctx.Scheduler().Schedule(func() {
			for sent < per && sent < window {
				sent++
				_ = mm.Request(srv.ID, payload, cb)
			}
		})
	}
	for _, d := range dones {
		<-d
	}
	b.StopTimer()
	b.ReportMetric(float64(per*clients)/b.Elapsed().Seconds(), "rt/s")
}

// BenchmarkRouterFanIn sends 64-byte messages from 1…4 agents to one
// receiver: all traffic crosses the single mover goroutine, so this is
// where the global message scheduler saturates.
func BenchmarkRouterFanIn(b *testing.B) {
	for senders := 1; senders <= 4; senders *= 2 {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			per := b.N/senders + 1
			want := per * senders
			done := make(chan struct{})
			got := 0
			agents := []*hookAgent{{receive: func(ctx *Context, m *Message) {
				got++
				if got == want {
					close(done)
				}
			}}}
			names := []string{"recv"}
			for i := 0; i < senders; i++ {
				agents = append(agents, &hookAgent{})
				names = append(names, fmt.Sprintf("send%d", i))
			}
			in := benchInstance(b, names, agents...)
			dst, _ := in.Directory().Lookup("recv")
			payload := make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < senders; i++ {
				ctx, _ := in.Context(names[i+1])
				_ = ctx.Scheduler().Schedule(func() {
					for j := 0; j < per; j++ {
						if err := ctx.Messages().Send(dst.ID, payload); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			<-done
			b.StopTimer()
			b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
