package gateway

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
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
	// per group, from its leader, which opened them.
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

// Agent is one gateway: a relay (epoll or goroutines) and, if it leads its
// group (group.go), the listeners and -c.
type Agent struct {
	hooks Hooks
	ctx   *diggi.Context
	sys   *posix.Sys
	gs    gatewaySettings

	leader   *leader                    // set on the group's leader
	leaderID diggi.AgentID              // a member's leader, once joined
	handoff  func(nc net.Conn, s *slot) // gives an accepted client and its slot to this gateway's relay
	done     chan struct{}              // closed at Stop

	mu      sync.Mutex // guards clients and closing
	clients map[*client]struct{}
	closing bool

	// This gateway's counts (its group's are their sums: SumStats).
	conns     atomic.Int64
	rejected  atomic.Uint64 // clients refused at -c (maxconns_fast): the leader's
	idleKicks atomic.Uint64 // clients closed at idle_timeout

	backend     diggi.Info // the cache agent, resolved at Start
	backendPort uint16
	epoll       *epollRelay // nil with the goroutine relay
	stopIdle    func()

	wg sync.WaitGroup
}

// Init reads the options; the gateway is untrusted by design, but nothing
// in it depends on that. The group's leader is ready for its members'
// joins from here on (they may start first).
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
	if g.leads() {
		g.leader = newLeader(g)
	}
	return nil
}

// Start resolves the cache agent, opens the listeners (a leader) or joins
// its group's leader (a member), and starts taking clients.
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
	if g.leader != nil {
		if err := g.leader.listen(g.gs); err != nil {
			return fmt.Errorf("gateway %s: %w", ctx.Info(), err)
		}
	}
	// A member's relay runs before it joins: the leader sends it clients
	// from the moment the join is accepted (see join).
	if g.gs.relay == config.RelayEpoll && epollAvailable {
		if err := g.startEpoll(); err != nil {
			g.stopGroup()
			return fmt.Errorf("gateway %s: %w", ctx.Info(), err)
		}
		g.handoff = g.epoll.handoff
		if g.gs.idleTimeout > 0 {
			g.stopIdle = ctx.Messages().Every(time.Second, g.epoll.closeIdle)
		}
	} else {
		g.handoff = g.startGoroutine
	}
	if g.leader == nil {
		// On failure Stop, which runs after a failed Start, stops the
		// relay and leaves (a leader that refused the join answers the
		// leave too).
		if err := g.join(); err != nil {
			return fmt.Errorf("gateway %s: %w", ctx.Info(), err)
		}
	}
	if g.leader != nil {
		g.leader.startAccepting()
		for _, a := range g.leader.addrs() {
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

// Receive handles the group's messages (group.go); the gateway speaks to
// its cache agent through sockets only.
func (g *Agent) Receive(m *diggi.Message) {
	p := m.Payload()
	switch {
	case len(p) == 0:
	case g.leader != nil:
		g.leader.receive(m)
	case p[0] == msgClient && m.Src == g.leaderID:
		g.receiveClient(p) // even without a relay: the slot goes back
	}
}

// stopGroup closes a leader's listeners, or leaves a member's leader.
func (g *Agent) stopGroup() {
	switch {
	case g.leader != nil:
		g.ctx.Scheduler().Block(g.leader.stop)
	case g.leaderID != 0:
		g.leave()
	}
}

// Stop closes the listeners (a leader; a member leaves its leader), closes
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
	if g.handoff == nil {
		return // Start failed
	}
	// A client the leader hands over meanwhile is closed by this one's
	// relay, which sees done.
	g.stopGroup()
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

// Addrs returns the listeners' addresses (none on a member, which has
// none).
func (g *Agent) Addrs() []net.Addr {
	if g.leader == nil {
		return nil
	}
	return g.leader.addrs()
}

// Rejected counts connections this gateway refused at -c (maxconns_fast):
// only a leader accepts.
func (g *Agent) Rejected() uint64 { return g.rejected.Load() }

// Conns is the number of open client connections this gateway relays.
func (g *Agent) Conns() int { return int(g.conns.Load()) }

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
	g.conns.Add(1)
	return true
}

func (g *Agent) unregister(c *client) {
	g.mu.Lock()
	delete(g.clients, c)
	g.mu.Unlock()
	g.conns.Add(-1)
	// A member's slot goes back by message, under the baton. Once the
	// scheduler is closed the gateway has stopped, and its group's
	// leader with it or before it: there is no one to give it to.
	g.ctx.Scheduler().Run(c.slot.release)
}
