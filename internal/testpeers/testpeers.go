// Package testpeers starts Diggi instances meant to be linked to each
// other in tests (diggi/link, diggi/cluster): each runs recorder agents
// that keep what they receive, its channel factory knows every instance's
// configuration, and all share one sim world, whose link identity and
// admission policy it also makes.
package testpeers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/diggi/posix"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/diggichannel"
)

// Quiet discards logs.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Signer signs the test agents' and instances' enclaves.
var Signer = trust.SignerFromKey([]byte("testpeers"))

// Recorder is an agent that keeps copies of the payloads it receives, in
// order, and echoes requests. With Gate set, it waits on Gate before each
// message while holding its thread, as a busy agent does.
type Recorder struct {
	Gate chan struct{}

	mu  sync.Mutex
	got [][]byte
}

// Init implements diggi.Agent.
func (r *Recorder) Init(*diggi.Context) error { return nil }

// Start implements diggi.Agent: requests are echoed.
func (r *Recorder) Start(ctx *diggi.Context) error {
	ctx.Messages().Subscribe(diggi.TypeRequest, func(m *diggi.Message) {
		_ = ctx.Messages().Reply(m, m.Payload())
	})
	return nil
}

// Stop implements diggi.Agent.
func (r *Recorder) Stop(*diggi.Context) {}

// Receive implements diggi.Agent.
func (r *Recorder) Receive(m *diggi.Message) {
	if r.Gate != nil {
		<-r.Gate
	}
	r.mu.Lock()
	r.got = append(r.got, append([]byte(nil), m.Payload()...))
	r.mu.Unlock()
}

// Count is how many messages arrived.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// Payloads returns copies of what arrived, in order.
func (r *Recorder) Payloads() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...)
}

// Config is an instance of recorders named agents (kind "recorder-NAME").
func Config(name string, agents []string, trusted bool) diggi.Config {
	cfg := diggi.Config{Instance: name, QueueSize: 64}
	for _, a := range agents {
		cfg.Agents = append(cfg.Agents, diggi.AgentConfig{Name: a, Kind: "recorder-" + a, Trusted: trusted})
	}
	return cfg
}

// Instance is a running instance of recorders.
type Instance struct {
	In     *diggi.Instance
	Agents map[string]*Recorder
}

// Start starts the instance cfg describes (made by Config) on world's
// backend; all lists every instance's configuration, so that trusted
// agents can verify their peers in other instances. It stops at the end
// of the test, after cleanups registered later (links) have run.
func Start(t testing.TB, world *testsim.World, cfg diggi.Config, all ...diggi.Config) *Instance {
	t.Helper()
	return StartWith(t, world, Options{}, cfg, all...)
}

// Options adjust an instance of StartWith.
type Options struct {
	// Backend, if set, launches the instance's trusted agents instead of
	// the world's backend (a testsim.World.StandIn).
	Backend trust.Backend
	// QueueTap is the instance's diggi.InstanceOptions.QueueTap.
	QueueTap func(*diggi.Message)
}

// StartWith is Start with options.
func StartWith(t testing.TB, world *testsim.World, o Options, cfg diggi.Config, all ...diggi.Config) *Instance {
	t.Helper()
	n, err := newWith(world, o, cfg, all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.In.Stop(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// New is Start for a process that is not a test (a test's child
// process); the caller stops the instance.
func New(world *testsim.World, cfg diggi.Config, all ...diggi.Config) (*Instance, error) {
	return newWith(world, Options{}, cfg, all...)
}

func newWith(world *testsim.World, o Options, cfg diggi.Config, all ...diggi.Config) (*Instance, error) {
	if o.Backend == nil {
		o.Backend = world.Backend
	}
	n := &Instance{Agents: map[string]*Recorder{}}
	reg := diggi.NewRegistry()
	trusted := false
	for _, a := range cfg.Agents {
		r := &Recorder{}
		n.Agents[a.Name] = r
		trusted = trusted || a.Trusted
		if err := reg.Register(a.Kind, func() diggi.Agent { return r }); err != nil {
			return nil, err
		}
	}
	agents, err := diggichannel.AgentsFromConfig(cfg, Signer)
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.Instance != cfg.Instance {
			if err := agents.Add(c); err != nil {
				return nil, err
			}
		}
	}
	f, err := diggichannel.New(diggichannel.Options{
		Backend: o.Backend, Agents: agents, AllowSimulated: true, SimRoots: world.SimRoots(),
		AllowPlaintext: !trusted, Logger: Quiet,
	})
	if err != nil {
		return nil, err
	}
	n.In, err = diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Channels: f.ChannelFactory(), Logger: Quiet, QueueTap: o.QueueTap})
	if err != nil {
		return nil, err
	}
	return n, n.In.Start()
}

// LinkIdentity launches an instance's link enclave on world and returns it
// with the policy that admits the world's instances (sim evidence under
// its root, signed by Signer).
func LinkIdentity(t testing.TB, world *testsim.World) (trust.Enclave, *trust.Verifier) {
	t.Helper()
	e, v, err := NewLinkIdentity(world)
	if err != nil {
		t.Fatal(err)
	}
	return e, v
}

// NewLinkIdentity is LinkIdentity for a process that is not a test.
func NewLinkIdentity(world *testsim.World) (trust.Enclave, *trust.Verifier, error) {
	e, err := world.Backend.Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "diggi-link-test"}, Signer: Signer})
	if err != nil {
		return nil, nil, err
	}
	p := world.Policy()
	p.Signers = []trust.Signer{Signer}
	v, err := trust.NewVerifier(p)
	return e, v, err
}

// Run executes fn in the named agent, under its baton.
func (n *Instance) Run(t testing.TB, agent string, fn func(*diggi.Context) error) {
	t.Helper()
	ctx, ok := n.In.Context(agent)
	if !ok {
		t.Fatalf("no agent %s", agent)
	}
	var ferr error
	if err := ctx.Scheduler().Run(func() { ferr = fn(ctx) }); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
}

// WaitAgent waits until the directory lists name ("instance/agent").
func (n *Instance) WaitAgent(t testing.TB, name string) diggi.AgentID {
	t.Helper()
	var id diggi.AgentID
	WaitUntil(t, name+" in "+n.In.Name()+"'s directory", func() bool {
		i, ok := n.In.Directory().Lookup(name)
		id = i.ID
		return ok
	})
	return id
}

// SendSeq sends count numbered messages (SeqPayload) from a local agent.
func (n *Instance) SendSeq(t testing.TB, from string, to diggi.AgentID, count int) {
	t.Helper()
	n.Run(t, from, func(ctx *diggi.Context) error {
		for i := range count {
			if err := ctx.Messages().Send(to, SeqPayload(from, i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// WaitUntil polls cond until it holds or 10 s pass.
func WaitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// SeqPayload is message i of a numbered stream from sender.
func SeqPayload(sender string, i int) []byte { return fmt.Appendf(nil, "%s %06d", sender, i) }

// CheckOrdered fails unless each sender's payloads (SeqPayload) arrived
// in strictly increasing order, consecutive unless gaps is set (messages
// lost with a failed link), and returns how many arrived per sender.
func CheckOrdered(t testing.TB, got [][]byte, gaps bool) map[string]int {
	t.Helper()
	last := map[string]int{}
	count := map[string]int{}
	for _, p := range got {
		sender, num, ok := strings.Cut(string(p), " ")
		i, err := strconv.Atoi(num)
		if !ok || err != nil {
			t.Fatalf("corrupted payload %q reached the agent", p)
		}
		prev, seen := last[sender]
		if !seen {
			prev = -1
		}
		if i <= prev || (!gaps && i != prev+1) {
			t.Fatalf("%s: message %d after %d (duplicate, reordered or lost)", sender, i, prev)
		}
		last[sender] = i
		count[sender]++
	}
	return count
}

// ConnectedPair connects a Diggi socket of agent dialer in instance a to a
// listener that agent listener of instance b opens on port, over whatever
// joins the two instances, and checks that a byte crosses each way. Both
// ends, and the listener, are closed when the test ends.
func ConnectedPair(t testing.TB, a *Instance, dialer string, b *Instance, listener string, port uint16) (ac, bc net.Conn) {
	t.Helper()
	var ln *netconn.Listener
	b.Run(t, listener, func(ctx *diggi.Context) (err error) {
		ln, err = netconn.Listen(posix.For(ctx), port)
		return err
	})
	t.Cleanup(func() { ln.Close() })
	var asys *posix.Sys
	a.Run(t, dialer, func(ctx *diggi.Context) error { asys = posix.For(ctx); return nil })

	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ac, err := netconn.Dial(dctx, asys, b.In.Name()+"/"+listener+":"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ac.Close() })
	select {
	case c, ok := <-accepted:
		if !ok {
			t.Fatal("accept failed")
		}
		bc = c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted")
	}
	t.Cleanup(func() { bc.Close() })
	for _, p := range [][2]net.Conn{{ac, bc}, {bc, ac}} {
		if _, err := p[0].Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		p[1].SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := p[1].Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		p[1].SetReadDeadline(time.Time{})
	}
	return ac, bc
}
