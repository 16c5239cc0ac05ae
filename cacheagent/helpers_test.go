package cacheagent

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/diggi/posix"
	"github.com/securecached/securecached/internal/testdiggi"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/diggichannel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// idle is an agent that does nothing: tests borrow its context to dial the
// cache agent from outside, as the gateway does.
type idle struct{}

func (idle) Init(*diggi.Context) error  { return nil }
func (idle) Start(*diggi.Context) error { return nil }
func (idle) Receive(*diggi.Message)     {}
func (idle) Stop(*diggi.Context)        {}

// stack is one instance with a cache agent "cache" and a client agent.
type stack struct {
	in      *diggi.Instance
	sys     *posix.Sys // the client agent's
	agent   *Agent
	root    *trust.SimRoot
	factory *diggichannel.Factory
}

type stackOptions struct {
	trusted bool
	args    string
	tls     bool
	router  diggi.Router
	logger  *slog.Logger // testdiggi.Quiet if nil
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	opts := diggi.Options{OptArgs: o.args}
	if o.tls {
		opts[OptTLS] = "true"
	}
	cfg := diggi.Config{Instance: "test", Agents: []diggi.AgentConfig{
		{Name: "cache", Kind: Kind, Trusted: o.trusted, Options: opts},
		{Name: "client", Kind: "idle"},
	}}
	sim, factory := testdiggi.Channels(t, cfg, true)
	st := &stack{root: sim.Root, factory: factory}
	reg := diggi.NewRegistry()
	started := make(chan *Agent, 1)
	if err := Register(reg, Hooks{Enclave: st.factory.Enclave, Started: func(a *Agent) { started <- a }}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("idle", func() diggi.Agent { return idle{} }); err != nil {
		t.Fatal(err)
	}
	// Registered before the instance's own cleanup, so it runs after the
	// instance stopped: every session is closed then, and a reply that
	// still holds an item pin is a leak.
	t.Cleanup(func() {
		if st.agent != nil {
			if n := st.agent.engine.PinsHeld(); n != 0 {
				t.Errorf("%d item pins held after the agent stopped", n)
			}
		}
	})
	st.in = testdiggi.Start(t, cfg, diggi.InstanceOptions{Registry: reg, Router: o.router, Channels: st.factory.ChannelFactory(), Logger: o.logger})
	st.agent = <-started
	ctx, _ := st.in.Context("client")
	if err := ctx.Scheduler().Run(func() { st.sys = posix.For(ctx) }); err != nil {
		t.Fatal(err)
	}
	return st
}

// dial connects the client agent to the cache agent.
func (st *stack) dial(t testing.TB) *netconn.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := netconn.Dial(ctx, st.sys, "cache:11211")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
