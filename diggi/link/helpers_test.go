package link

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/diggichannel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is an agent that keeps copies of the payloads it receives, in
// order, echoes requests, and runs gate (if set) before each message:
// a slow agent blocks there.
type recorder struct {
	mu   sync.Mutex
	got  [][]byte
	from []diggi.AgentID
	gate chan struct{}
	ctx  *diggi.Context
}

func (r *recorder) Init(ctx *diggi.Context) error { r.ctx = ctx; return nil }
func (r *recorder) Start(ctx *diggi.Context) error {
	ctx.Messages().Subscribe(diggi.TypeRequest, func(m *diggi.Message) {
		_ = ctx.Messages().Reply(m, m.Payload())
	})
	return nil
}
func (r *recorder) Stop(*diggi.Context) {}
func (r *recorder) Receive(m *diggi.Message) {
	if r.gate != nil {
		<-r.gate // holds the agent's thread, as a busy agent does
	}
	r.mu.Lock()
	r.got = append(r.got, append([]byte(nil), m.Payload()...))
	r.from = append(r.from, m.Src)
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) payloads() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...)
}

// node is one instance with a hub, for tests.
type node struct {
	in     *diggi.Instance
	hub    *Hub
	agents map[string]*recorder
}

type nodeOptions struct {
	name              string
	agents            []string
	trusted           bool // all agents trusted (channels end to end)
	untrustedInstance bool
	admitUntrusted    bool
	tap               func([]byte)
	window            int
	world             *testsim.World
	allConfigs        []diggi.Config // every instance's config, for the channel factory
}

func configFor(name string, agents []string, trusted bool) diggi.Config {
	cfg := diggi.Config{Instance: name, QueueSize: 64}
	for _, a := range agents {
		cfg.Agents = append(cfg.Agents, diggi.AgentConfig{Name: a, Kind: "recorder-" + a, Trusted: trusted})
	}
	return cfg
}

var testSigner = trust.SignerFromKey([]byte("link test"))

func newNode(t *testing.T, o nodeOptions) *node {
	t.Helper()
	n := &node{agents: map[string]*recorder{}}
	reg := diggi.NewRegistry()
	for _, a := range o.agents {
		r := &recorder{}
		n.agents[a] = r
		if err := reg.Register("recorder-"+a, func() diggi.Agent { return r }); err != nil {
			t.Fatal(err)
		}
	}
	cfg := configFor(o.name, o.agents, o.trusted)
	agents, err := diggichannel.AgentsFromConfig(cfg, testSigner)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range o.allConfigs {
		if c.Instance != cfg.Instance {
			if err := agents.Add(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	f, err := diggichannel.New(diggichannel.Options{
		Backend: o.world.Backend, Agents: agents, AllowSimulated: true, SimRoots: o.world.SimRoots(),
		AllowPlaintext: !o.trusted, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.in, err = diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Channels: f.ChannelFactory(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.in.Start(); err != nil {
		t.Fatal(err)
	}
	tr := Trust{AdmitUntrusted: o.admitUntrusted}
	if !o.untrustedInstance {
		spec := trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "diggi-link-test"}, Signer: testSigner}
		tr.Enclave = o.world.Launch(t, spec)
		p := o.world.Policy()
		p.Signers = []trust.Signer{testSigner}
		if tr.Verifier, err = trust.NewVerifier(p); err != nil {
			t.Fatal(err)
		}
	}
	n.hub, err = New(Options{Instance: n.in, Address: "test", Trust: tr, Tap: o.tap, Window: o.window, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.hub.Close()
		if err := n.in.Stop(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// run executes fn in the named local agent, under its baton.
func (n *node) run(t *testing.T, agent string, fn func(*diggi.Context) error) {
	t.Helper()
	ctx, ok := n.in.Context(agent)
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

func (n *node) id(t *testing.T, name string) diggi.AgentID {
	t.Helper()
	i, ok := n.in.Directory().Lookup(name)
	if !ok {
		t.Fatalf("%s: no agent %s in the directory", n.in.Name(), name)
	}
	return i.ID
}

// linkUp connects a (dialling) to b (accepting) through dial, which may be
// a proxy's address, and keeps reconnecting until the test ends, as the
// cluster's dialer does. It returns a function that waits for a session.
type linker struct {
	t      *testing.T
	a, b   *node
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
	runErr chan error
}

func link(t *testing.T, a, b *node, via func(target string) string) *linker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &linker{t: t, a: a, b: b, ln: ln, cancel: cancel, runErr: make(chan error, 100)}
	l.wg.Add(2)
	go func() { // b accepts
		defer l.wg.Done()
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				tc := tls.Server(c, b.hub.ServerConfig())
				hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
				defer hcancel()
				if err := tc.HandshakeContext(hctx); err != nil {
					tc.Close()
					return
				}
				_ = b.hub.Run(tc)
			}()
		}
	}()
	target := ln.Addr().String()
	if via != nil {
		target = via(target)
	}
	go func() { // a dials, and redials after a failure
		defer l.wg.Done()
		for ctx.Err() == nil {
			tc, err := a.hub.Dial(ctx, target, ProtoLink)
			if err == nil {
				err = a.hub.Run(tc)
			}
			select {
			case l.runErr <- err:
			default:
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(l.stop)
	return l
}

func (l *linker) stop() {
	l.cancel()
	l.ln.Close()
	l.a.hub.Close()
	l.b.hub.Close()
	l.wg.Wait()
}

// waitUntil polls cond until it holds or 10 s pass.
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

func waitPeerUp(t *testing.T, n *node, peer string) *Peer {
	t.Helper()
	var p *Peer
	waitUntil(t, n.in.Name()+" link to "+peer, func() bool {
		var ok bool
		p, ok = n.hub.Peer(peer)
		return ok && p.Up()
	})
	return p
}

func seqPayload(sender string, i int) []byte { return fmt.Appendf(nil, "%s %06d", sender, i) }
