package diggi

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hookAgent is an agent whose behaviour each test supplies.
type hookAgent struct {
	init    func(*Context) error
	start   func(*Context) error
	receive func(*Context, *Message)
	stop    func(*Context)
	ctx     *Context
}

func (a *hookAgent) Init(ctx *Context) error {
	a.ctx = ctx
	if a.init != nil {
		return a.init(ctx)
	}
	return nil
}

func (a *hookAgent) Start(ctx *Context) error {
	if a.start != nil {
		return a.start(ctx)
	}
	return nil
}

func (a *hookAgent) Receive(m *Message) {
	if a.receive != nil {
		a.receive(a.ctx, m)
	}
}

func (a *hookAgent) Stop(ctx *Context) {
	if a.stop != nil {
		a.stop(ctx)
	}
}

// testInstance boots an instance whose agents are the given hook agents,
// named in order, each of its own kind. It is stopped at test cleanup.
func testInstance(t testing.TB, opts InstanceOptions, names []string, agents ...*hookAgent) *Instance {
	t.Helper()
	return testInstanceQ(t, 0, opts, names, agents...)
}

// testInstanceQ is testInstance with a given queue size.
func testInstanceQ(t testing.TB, queueSize int, opts InstanceOptions, names []string, agents ...*hookAgent) *Instance {
	t.Helper()
	reg := NewRegistry()
	cfg := Config{Instance: "test", QueueSize: queueSize}
	for i, a := range agents {
		a := a
		kind := "hook-" + names[i]
		if err := reg.Register(kind, func() Agent { return a }); err != nil {
			t.Fatal(err)
		}
		cfg.Agents = append(cfg.Agents, AgentConfig{Name: names[i], Kind: kind})
	}
	opts.Registry = reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return startInstance(t, cfg, opts)
}

// startInstance creates and starts an instance and stops it when the test
// ends, reporting a failed stop. (internal/testdiggi.Start does the same for
// tests outside this package, which cannot import it from here.)
func startInstance(t testing.TB, cfg Config, opts InstanceOptions) *Instance {
	t.Helper()
	in, err := NewInstance(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			t.Error(err)
		}
	})
	return in
}

// waitFor fails the test if ch is not closed within d.
func waitFor(t testing.TB, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// inAgent runs fn under the named agent's baton and waits for it.
func inAgent(t testing.TB, in *Instance, name string, fn func(ctx *Context)) {
	t.Helper()
	ctx, ok := in.Context(name)
	if !ok {
		t.Fatalf("no agent %s", name)
	}
	if err := runTask(ctx.Scheduler(), func() error { fn(ctx); return nil }); err != nil {
		t.Fatal(err)
	}
}
