package diggi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/securecached/securecached/diggi"
)

// greeter answers every request with a greeting.
type greeter struct{}

func (greeter) Init(ctx *diggi.Context) error {
	mm := ctx.Messages()
	mm.Subscribe(diggi.TypeRequest, func(m *diggi.Message) {
		_ = mm.Reply(m, append([]byte("hello, "), m.Payload()...))
	})
	return nil
}
func (greeter) Start(*diggi.Context) error { return nil }
func (greeter) Receive(*diggi.Message)     {}
func (greeter) Stop(*diggi.Context)        {}

// asker calls the greeter from its Start, through a task (Call blocks, and
// blocking belongs in tasks, not in Start).
type asker struct{ out chan string }

func (a *asker) Init(*diggi.Context) error { return nil }
func (a *asker) Start(ctx *diggi.Context) error {
	g, _ := ctx.Directory().Lookup("greeter")
	return ctx.Scheduler().Schedule(func() {
		resp, err := ctx.Messages().Call(context.Background(), g.ID, []byte(ctx.Name()))
		if err != nil {
			a.out <- err.Error()
			return
		}
		a.out <- string(resp)
	})
}
func (a *asker) Receive(*diggi.Message) {}
func (a *asker) Stop(*diggi.Context)    {}

func Example() {
	out := make(chan string, 1)
	reg := diggi.NewRegistry()
	reg.Register("greeter", func() diggi.Agent { return greeter{} })
	reg.Register("asker", func() diggi.Agent { return &asker{out: out} })
	cfg, err := diggi.ParseConfig([]byte(`{
		"instance": "demo",
		"agents": [
			{"name": "greeter", "kind": "greeter"},
			{"name": "alice", "kind": "asker"}
		]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	in, err := diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := in.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer in.Stop()
	fmt.Println(<-out)
	// Output: hello, alice
}
