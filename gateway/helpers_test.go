package gateway

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testdiggi"
	"github.com/securecached/securecached/trust"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stack is one instance: a gateway on a free local port in front of a
// cache agent.
type stack struct {
	in    *diggi.Instance
	gw    *Agent
	gws   []*Agent // every gateway, with stackOptions.gateways
	cache *cacheagent.Agent
	addr  string
	root  *trust.SimRoot
}

type stackOptions struct {
	trusted   bool
	gwArgs    string
	cacheArgs string
	tls       bool
	listen    string // OptListen; default 127.0.0.1:0
	tap       func(Direction, []byte)
	router    diggi.Router
	relay     string // -o relay=...
	backend   string // default cache:11211
	gateways  int    // more than one: that many gateways in one group
}

// forEachRelay runs fn against both relays.
func forEachRelay(t *testing.T, fn func(t *testing.T, relay string)) {
	for _, r := range []string{config.RelayEpoll, config.RelayGoroutine} {
		t.Run(r, func(t *testing.T) { fn(t, r) })
	}
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	args := o.gwArgs
	if o.relay != "" {
		args += " -o relay=" + o.relay
	}
	gwOpts := diggi.Options{OptArgs: args, OptBackend: "cache:11211"}
	if o.backend != "" {
		gwOpts[OptBackend] = o.backend
	}
	if o.listen != "-" {
		gwOpts[OptListen] = "127.0.0.1:0"
		if o.listen != "" {
			gwOpts[OptListen] = o.listen
		}
	}
	cacheOpts := diggi.Options{cacheagent.OptArgs: o.cacheArgs}
	if o.tls {
		cacheOpts[cacheagent.OptTLS] = "true"
	}
	cfg := diggi.Config{Instance: "test", Agents: []diggi.AgentConfig{
		{Name: "cache", Kind: cacheagent.Kind, Trusted: o.trusted, Options: cacheOpts},
		{Name: "gateway", Kind: Kind, Options: gwOpts},
	}}
	if o.gateways > 1 {
		gwOpts[OptGroup] = "gateway" // the first gateway leads
		for i := 2; i <= o.gateways; i++ {
			cfg.Agents = append(cfg.Agents, diggi.AgentConfig{Name: fmt.Sprintf("gateway-%d", i), Kind: Kind, Options: gwOpts})
		}
	}
	sim, f := testdiggi.Channels(t, cfg, false)
	st := &stack{root: sim.Root}
	reg := diggi.NewRegistry()
	cacheUp := make(chan *cacheagent.Agent, 1)
	if err := cacheagent.Register(reg, cacheagent.Hooks{Enclave: f.Enclave, Started: func(a *cacheagent.Agent) { cacheUp <- a }}); err != nil {
		t.Fatal(err)
	}
	addrs := make(chan []net.Addr, 1)
	if err := reg.Register(Kind, func() diggi.Agent {
		a := &Agent{hooks: Hooks{Tap: o.tap, Listening: func(a []net.Addr) { addrs <- a }}}
		st.gw = a
		st.gws = append(st.gws, a)
		return a
	}); err != nil {
		t.Fatal(err)
	}
	st.in = testdiggi.Start(t, cfg, diggi.InstanceOptions{Registry: reg, Router: o.router, Channels: f.ChannelFactory()})
	st.cache = <-cacheUp
	a := <-addrs
	st.addr = a[0].String()
	return st
}

func (st *stack) dial(t testing.TB) net.Conn {
	t.Helper()
	network := "tcp"
	if strings.HasPrefix(st.addr, "/") {
		network = "unix"
	}
	c, err := net.DialTimeout(network, st.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// relayed is how many clients g itself relays now.
func (g *Agent) relayed(t *testing.T) int {
	t.Helper()
	if g.epoll == nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.clients)
	}
	n := 0
	if err := g.ctx.Scheduler().Run(func() { n = g.epoll.clients() }); err != nil {
		t.Fatal(err)
	}
	return n
}
