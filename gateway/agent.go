package gateway

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/diggi/netconn"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/posix"
)

// Hooks connect a gateway to its process. All are optional.
type Hooks struct {
	// Tap sees every chunk the gateway relays, on the relaying goroutine,
	// before it is forwarded; p is valid only during the call. Tests use it
	// to prove what an untrusted agent can observe.
	Tap func(dir Direction, p []byte)
	// Listening receives the listener addresses once they accept: once
	// per group, from the member that opened them.
	Listening func([]net.Addr)
	// Started, if set, receives each gateway once it relays, so the
	// process can report its counters (see Stats).
	Started func(*Agent)
}

// Factory returns the diggi factory for gateways wired to hooks.
func Factory(h Hooks) diggi.Factory {
	return func() diggi.Agent { return &Agent{hooks: h} }
}

// Register adds the gateway kind to r.
func Register(r *diggi.Registry, h Hooks) error { return r.Register(Kind, Factory(h)) }

// Agent is one gateway.
type Agent struct {
	hooks Hooks
	ctx   *diggi.Context
	sys   *posix.Sys
	gs    gatewaySettings

	grp     *group            // the gateways sharing this one's listeners
	handoff func(nc net.Conn) // gives an accepted client to this gateway's relay
	done    chan struct{}     // closed at Stop

	mu      sync.Mutex // guards clients and closing
	clients map[*client]struct{}
	closing bool

	backend     diggi.Info // the cache agent, resolved at Start
	backendPort uint16
	epoll       *epollRelay // nil with the goroutine relay
	stopIdle    func()

	wg sync.WaitGroup
}

// Init reads the options; the gateway is untrusted by design, but nothing
// in it depends on that.
func (g *Agent) Init(ctx *diggi.Context) error {
	gs, err := parseOptions(ctx.Options())
	if err != nil {
		return fmt.Errorf("gateway %s: %w", ctx.Info(), err)
	}
	if ctx.Trusted() {
		ctx.Log().Warn("gateway configured as trusted: it holds kernel sockets and gains nothing from an enclave")
	}
	g.ctx, g.gs = ctx, gs
	g.sys = posix.For(ctx)
	g.done = make(chan struct{})
	g.clients = map[*client]struct{}{}
	return nil
}

// Start resolves the cache agent, joins its group (the first member opens
// the listeners) and starts taking clients.
func (g *Agent) Start(ctx *diggi.Context) error {
	host, port, err := netconn.ParseAddress(g.gs.backend)
	if err != nil {
		return fmt.Errorf("gateway %s: backend %q: %w", ctx.Info(), g.gs.backend, err)
	}
	info, ok := ctx.Directory().Lookup(host)
	if !ok {
		return fmt.Errorf("gateway %s: backend %q: no such agent", ctx.Info(), g.gs.backend)
	}
	g.backend, g.backendPort = info, port
	if g.grp, err = joinGroup(g); err != nil {
		return fmt.Errorf("gateway %s: %w", ctx.Info(), err)
	}
	if g.gs.relay == config.RelayEpoll && epollAvailable {
		if err := g.startEpoll(); err != nil {
			g.grp.leave(g)
			g.grp = nil
			return fmt.Errorf("gateway %s: %w", ctx.Info(), err)
		}
		g.handoff = g.epoll.handoff
		if g.gs.idleTimeout > 0 {
			g.stopIdle = ctx.Messages().Every(time.Second, g.epoll.closeIdle)
		}
	} else {
		g.handoff = g.startGoroutine
	}
	if g.grp.start(g) {
		for _, a := range g.grp.addrs() {
			ctx.Log().Info("gateway listening", "addr", a.String(), "backend", g.gs.backend, "relay", g.gs.relay)
		}
		if g.hooks.Listening != nil {
			g.hooks.Listening(g.Addrs())
		}
	}
	if g.hooks.Started != nil {
		g.hooks.Started(g)
	}
	return nil
}

// Receive drops stray messages: the gateway speaks through sockets only.
func (g *Agent) Receive(*diggi.Message) {}

// Stop leaves the group (the last member closes the listeners), closes
// every client and waits, without the baton (the relays need it to
// finish), for the goroutines to end.
func (g *Agent) Stop(ctx *diggi.Context) {
	g.mu.Lock()
	g.closing = true
	close(g.done)
	for c := range g.clients {
		c.close()
	}
	g.mu.Unlock()
	if g.grp == nil {
		return // Start failed
	}
	// A client accepted meanwhile goes to another member, or is closed by
	// this one's relay, which sees done.
	ctx.Scheduler().Block(func() { g.grp.leave(g) })
	if g.stopIdle != nil {
		g.stopIdle()
	}
	if g.epoll != nil {
		g.epoll.closeAll()
	}
	ctx.Scheduler().Block(g.wg.Wait)
	if g.epoll != nil {
		g.epoll.closeFDs()
	}
}

// Addrs returns the listeners' addresses.
func (g *Agent) Addrs() []net.Addr { return g.grp.addrs() }

// Rejected counts connections refused at -c (maxconns_fast) by this
// gateway's group.
func (g *Agent) Rejected() uint64 { return g.grp.rejected.Load() }

// Conns is the number of open client connections of this gateway's group.
func (g *Agent) Conns() int { return int(g.grp.conns.Load()) }

func (g *Agent) stopping() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// register adds c; false means the gateway is stopping.
func (g *Agent) register(c *client) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.clients[c] = struct{}{}
	g.grp.conns.Add(1)
	g.grp.total.Add(1)
	return true
}

func (g *Agent) unregister(c *client) {
	g.mu.Lock()
	delete(g.clients, c)
	g.mu.Unlock()
	g.grp.conns.Add(-1)
	<-g.grp.slots
}
