package posix

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testdiggi"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// nopAgent is an agent whose Init sets up the POSIX layer; tests drive it
// with tasks.
type nopAgent struct{}

func (nopAgent) Init(ctx *diggi.Context) error { For(ctx); return nil }
func (nopAgent) Start(*diggi.Context) error    { return nil }
func (nopAgent) Receive(*diggi.Message)        {}
func (nopAgent) Stop(*diggi.Context)           {}

// boot starts an instance with one nopAgent per name and returns their
// contexts by name.
func boot(t testing.TB, names ...string) (*diggi.Instance, map[string]*diggi.Context) {
	t.Helper()
	reg := diggi.NewRegistry()
	if err := reg.Register("nop", func() diggi.Agent { return nopAgent{} }); err != nil {
		t.Fatal(err)
	}
	cfg := diggi.Config{Instance: "posix-test"}
	for _, n := range names {
		cfg.Agents = append(cfg.Agents, diggi.AgentConfig{Name: n, Kind: "nop"})
	}
	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	} else {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	in := testdiggi.Start(t, cfg, diggi.InstanceOptions{Registry: reg, Logger: log})
	ctxs := map[string]*diggi.Context{}
	for _, n := range names {
		ctxs[n], _ = in.Context(n)
	}
	return in, ctxs
}

// spawn runs fn as a task of the agent and returns a channel closed when it
// returns.
func spawn(t testing.TB, ctx *diggi.Context, fn func(s *Sys)) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	err := ctx.Scheduler().Schedule(func() {
		defer close(done)
		fn(For(ctx))
	})
	if err != nil {
		t.Fatal(err)
	}
	return done
}

func wait(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// listen opens a listening socket in a task of ctx and returns its fd.
func listen(t testing.TB, ctx *diggi.Context, port uint16) int {
	t.Helper()
	fd := -1
	wait(t, spawn(t, ctx, func(s *Sys) {
		var err error
		if fd, err = s.Socket(); err != nil {
			t.Error(err)
			return
		}
		if err := s.Listen(fd, port, 0); err != nil {
			t.Error(err)
		}
	}), "listen")
	return fd
}
