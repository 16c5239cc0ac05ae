package diggichannel

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sink is an agent that records (copies of) the payloads it receives and
// echoes requests.
type sink struct {
	mu   sync.Mutex
	got  [][]byte
	seen chan struct{}
}

func (s *sink) Init(*diggi.Context) error {
	return nil
}

func (s *sink) Start(ctx *diggi.Context) error {
	ctx.Messages().Subscribe(diggi.TypeRequest, func(m *diggi.Message) {
		_ = ctx.Messages().Reply(m, m.Payload())
	})
	return nil
}

func (s *sink) Receive(m *diggi.Message) {
	s.mu.Lock()
	s.got = append(s.got, append([]byte(nil), m.Payload()...))
	s.mu.Unlock()
	select {
	case s.seen <- struct{}{}:
	default:
	}
}

func (s *sink) Stop(*diggi.Context) {}

func (s *sink) payloads() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.got...)
}

// testbed is one instance with agents "alice" and "bob" (both sinks).
type testbed struct {
	in      *diggi.Instance
	factory *Factory
	alice   *sink
	bob     *sink
}

type bedOptions struct {
	trusted        [2]bool
	allowPlaintext bool
	router         diggi.Router
	queueTap       func(*diggi.Message)
	rekey          uint64
	// backend, if set, names the backend the instance runs on (see
	// cvmStandIn); sim by default.
	backend string
	// remote adds a configured instance "remote" with a trusted agent
	// "carol", for the factory's cross-instance decisions.
	remote bool
}

// cvmStandIn is the sim backend under a confidential VM's name. Only its
// trust domain (trust.DomainOf its name) differs from sim's, and that is
// all the seal decision looks at; its enclaves still make sim evidence,
// which the testbed's verifiers accept.
type cvmStandIn struct {
	trust.Backend
	name string
}

func (b cvmStandIn) Name() string { return b.name }

func newTestbed(t *testing.T, o bedOptions) *testbed {
	t.Helper()
	w := testsim.New(t)
	tb := &testbed{alice: &sink{seen: make(chan struct{}, 1)}, bob: &sink{seen: make(chan struct{}, 1)}}
	reg := diggi.NewRegistry()
	if err := reg.Register("sink-a", func() diggi.Agent { return tb.alice }); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("sink-b", func() diggi.Agent { return tb.bob }); err != nil {
		t.Fatal(err)
	}
	cfg := diggi.Config{Instance: "test", Agents: []diggi.AgentConfig{
		{Name: "alice", Kind: "sink-a", Trusted: o.trusted[0], Options: diggi.Options{"role": "client"}},
		{Name: "bob", Kind: "sink-b", Trusted: o.trusted[1]},
	}}
	spec, err := AgentsFromConfig(cfg, trust.SignerFromKey([]byte("test")))
	if err != nil {
		t.Fatal(err)
	}
	if o.remote {
		if err := spec.Add(diggi.Config{Instance: "remote", Agents: []diggi.AgentConfig{{Name: "carol", Kind: "sink-a", Trusted: true}}}); err != nil {
			t.Fatal(err)
		}
	}
	var backend trust.Backend = w.Backend
	if o.backend != "" && o.backend != trust.BackendSim {
		backend = cvmStandIn{Backend: w.Backend, name: o.backend}
	}
	tb.factory, err = New(Options{
		Backend: backend, Agents: spec,
		AllowSimulated: true, SimRoots: w.SimRoots(),
		AllowPlaintext: o.allowPlaintext,
		RekeyMessages:  o.rekey,
		Logger:         quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	tb.in, err = diggi.NewInstance(cfg, diggi.InstanceOptions{
		Registry: reg, Router: o.router, Channels: tb.factory.ChannelFactory(), Logger: quiet, QueueTap: o.queueTap,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.in.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tb.in.Stop(); err != nil {
			t.Error(err)
		}
	})
	return tb
}

func (tb *testbed) info(t *testing.T, name string) diggi.Info {
	t.Helper()
	i, ok := tb.in.Directory().Lookup(name)
	if !ok {
		t.Fatalf("no agent %s", name)
	}
	return i
}

// run executes fn in the named agent, under its baton.
func (tb *testbed) run(t *testing.T, name string, fn func(*diggi.Context) error) {
	t.Helper()
	ctx, ok := tb.in.Context(name)
	if !ok {
		t.Fatalf("no agent %s", name)
	}
	var ferr error
	if err := ctx.Scheduler().Run(func() { ferr = fn(ctx) }); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (tb *testbed) stats(t *testing.T, name string) diggi.Stats {
	ctx, ok := tb.in.Context(name)
	if !ok {
		t.Fatalf("no agent %s", name)
	}
	return ctx.Messages().Stats()
}

func payload(i int) []byte { return fmt.Appendf(nil, "payload %03d", i) }

// connect runs the in-band handshake between two channels by hand, the
// way two message managers would: both open, openings cross.
func connect(t *testing.T, a, b *Channel) {
	t.Helper()
	ma, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	mb, err := b.Begin()
	if err != nil {
		t.Fatal(err)
	}
	toA, toB := [][]byte{mb}, [][]byte{ma}
	for range 10 {
		if a.Established() && b.Established() {
			return
		}
		var next [][]byte
		for _, m := range toB {
			out, _, err := b.Step(m)
			if err != nil {
				t.Fatal(err)
			}
			if out != nil {
				next = append(next, out)
			}
		}
		toB = nil
		for _, m := range toA {
			out, _, err := a.Step(m)
			if err != nil {
				t.Fatal(err)
			}
			if out != nil {
				toB = append(toB, out)
			}
		}
		toA = next
	}
	t.Fatal("handshake did not converge")
}
