package experiments

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/diggi/posix"
	"github.com/securecached/securecached/ycsb"
	"github.com/securecached/securecached/ycsb/memcachedb"
)

// defaultTimeout bounds one operation when OptTimeout is not set, as
// package client's default does.
const defaultTimeout = 2 * time.Second

// ClientKind is the agent kind of a YCSB client agent.
const ClientKind = "ycsb-client"

// Option keys a client agent reads.
const (
	// OptTarget is the cache agent's Diggi address ("cache:11211"), or
	// several, comma-separated ("b/cache:11211,c/cache:11211"): the
	// client library spreads keys over them with ketama, wherever the
	// agents live. A target may also be a TCP server, "tcp://HOST:PORT"
	// (a securecached or memcached outside the deployment), on the same
	// ring as the Diggi targets; it is never trusted (see parseTargets).
	OptTarget = "target"
	// OptUntrusted lists targets (comma-separated, as in OptTarget) whose
	// cache agents run outside an enclave: keys marked Sensitive never go
	// to them. The other targets are trusted if this agent is.
	OptUntrusted = "untrusted"
	// OptProtocol is the memcached protocol: binary (the thesis's), text
	// or meta.
	OptProtocol = "protocol"
	// OptTimeout bounds one operation (a Go duration, default 2s).
	OptTimeout = "timeout"
)

// The coordination messages between client agents (TypeRegular payloads).
var (
	msgGo    = []byte("ycsb-go")
	msgAbort = []byte("ycsb-abort")
)

// errPreloadFailed is what the waiting agents report when agent 0's
// preload failed.
var errPreloadFailed = errors.New("experiments: client agent 0's preload failed")

// job is one phase as one client agent runs it.
type job struct {
	plan    *ycsb.Plan
	preload *ycsb.Plan // set on every agent when agent 0 preloads
	first   int        // the agent's clients in plan: first .. first+count-1
	count   int
	table   string
	window  int // > 0: the pipelined model, one client with this window
	w       *ycsb.Workload
	peers   []diggi.AgentID // agent 0 signals these after its preload
	onGo    func()          // agent 0 calls it after its preload, before it signals
	started chan struct{}   // closed by Receive when agent 0 says go
	failed  bool            // agent 0 said abort (set before started closes)
}

// ClientAgent is one YCSB client agent: one client.Client over a Diggi
// socket to the cache agent, shared by the agent's YCSB client threads
// (one thread is YCSB's model; more pipeline requests on the connection);
// in the pipelined model, a raw socket of its own per phase instead
// (pipeline.go).
type ClientAgent struct {
	started func(*ClientAgent)

	ctx *diggi.Context
	sys *posix.Sys
	cl  *client.Client

	// The servers the client spreads keys over and the per-call
	// timeout, for the pipelined model's own sockets.
	servers    []client.ServerConfig
	tcpTargets bool // some are TCP servers, which the pipelined model cannot reach
	timeout    time.Duration

	mu  sync.Mutex // guards job, read by Receive under the baton
	job *job
}

// clientFactory returns the factory of client agents reporting to started.
func clientFactory(started func(*ClientAgent)) diggi.Factory {
	return func() diggi.Agent { return &ClientAgent{started: started} }
}

// Init opens the agent's socket layer and its memcached client; the client
// dials lazily, on the first operation.
func (a *ClientAgent) Init(ctx *diggi.Context) error {
	a.ctx = ctx
	a.sys = posix.For(ctx)
	o := ctx.Options()
	proto, err := client.ParseProtocol(o.String(OptProtocol, "binary"))
	if err != nil {
		return fmt.Errorf("client agent %s: %w", ctx.Info(), err)
	}
	timeout, err := o.Duration(OptTimeout, 0)
	if err != nil {
		return fmt.Errorf("client agent %s: %w", ctx.Info(), err)
	}
	servers, err := parseTargets(o.String(OptTarget, CacheName+":11211"), o.String(OptUntrusted, ""), ctx.Trusted())
	if err != nil {
		return fmt.Errorf("client agent %s: %w", ctx.Info(), err)
	}
	a.servers = servers
	a.tcpTargets = slices.ContainsFunc(servers, func(s client.ServerConfig) bool { return s.Network == "tcp" })
	a.timeout = cmp.Or(timeout, defaultTimeout)
	var nd net.Dialer
	a.cl, err = client.New(client.Config{
		Servers:  servers,
		Protocol: proto,
		Dial: client.DialNetworks(map[string]client.DialFunc{
			netconn.Network: netconn.Dialer(a.sys), "tcp": nd.DialContext,
		}),
		// One connection per agent, as each of the thesis's client agents
		// has; extra threads pipeline on it.
		MaxConnsPerServer: 1, Timeout: timeout,
	})
	if err != nil {
		return fmt.Errorf("client agent %s: %w", ctx.Info(), err)
	}
	return nil
}

// tcpScheme marks a target reached over TCP rather than by Diggi address.
const tcpScheme = "tcp://"

// parseTargets reads OptTarget and OptUntrusted into one pool: Diggi
// addresses ("b/cache:11211") and TCP servers ("tcp://HOST:PORT") side by
// side on one ketama ring. A Diggi target is trusted when this agent is
// and OptUntrusted does not list it. A TCP target is never trusted: its
// bytes cross the host's network in the clear, so keys marked Sensitive
// never go to it.
func parseTargets(targets, untrustedList string, trusted bool) ([]client.ServerConfig, error) {
	untrusted := strings.Split(untrustedList, ",")
	for i := range untrusted {
		untrusted[i] = strings.TrimSpace(untrusted[i])
	}
	var servers []client.ServerConfig
	for _, target := range strings.Split(targets, ",") {
		target = strings.TrimSpace(target)
		if hostport, ok := strings.CutPrefix(target, tcpScheme); ok {
			if _, _, err := net.SplitHostPort(hostport); err != nil {
				return nil, fmt.Errorf("target %q: %w", target, err)
			}
			servers = append(servers, client.ServerConfig{Addr: hostport, Weight: 1, Network: "tcp"})
			continue
		}
		if _, _, err := netconn.ParseAddress(target); err != nil {
			return nil, err
		}
		servers = append(servers, client.ServerConfig{Addr: target, Weight: 1, Network: netconn.Network,
			Trusted: trusted && !slices.Contains(untrusted, target)})
	}
	return servers, nil
}

// Start reports the agent to the harness.
func (a *ClientAgent) Start(*diggi.Context) error {
	if a.started != nil {
		a.started(a)
	}
	return nil
}

// Receive takes agent 0's go (or abort) after its preload.
func (a *ClientAgent) Receive(m *diggi.Message) {
	a.mu.Lock()
	j := a.job
	a.mu.Unlock()
	if j == nil || j.started == nil {
		return
	}
	switch string(m.Payload()) {
	case string(msgGo):
	case string(msgAbort):
		j.failed = true
	default:
		return
	}
	select {
	case <-j.started:
	default:
		close(j.started)
	}
}

// Stop does nothing: the harness closes the client (outside the baton:
// closing waits for reader goroutines that need it) before stopping the
// instance.
func (a *ClientAgent) Stop(*diggi.Context) {}

// Name is the agent's name.
func (a *ClientAgent) Name() string { return a.ctx.Name() }

// Client is the agent's memcached client over a Diggi socket.
func (a *ClientAgent) Client() *client.Client { return a.cl }

// close closes the client; never under the agent's baton.
func (a *ClientAgent) close() error { return a.cl.Close() }

// setJob hands the agent its next phase (nil: none). Every agent has its
// job before any starts, so agent 0's go never finds a peer without one.
func (a *ClientAgent) setJob(j *job) {
	a.mu.Lock()
	a.job = j
	a.mu.Unlock()
}

// run runs one phase's share. It is called on a goroutine of the harness,
// never under the baton.
func (a *ClientAgent) run(ctx context.Context, j *job) error {
	db := memcachedb.New(a.cl, j.table)
	if j.window > 0 && a.tcpTargets {
		return fmt.Errorf("client agent %s: the pipelined model reaches cache agents by Diggi address only, not tcp:// targets", a.ctx.Info())
	}
	share := func(p *ycsb.Plan, i int) error {
		if j.window > 0 {
			return a.runPipelined(ctx, p, i, j.window, j.w, j.table)
		}
		return p.RunClient(ctx, i, db)
	}
	if j.preload != nil {
		if j.first == 0 {
			err := share(j.preload, 0)
			if err == nil && j.preload.Result().Overall.Errors() > 0 {
				err = fmt.Errorf("experiments: preload: %d operations failed", j.preload.Result().Overall.Errors())
			}
			msg := msgGo
			if err != nil {
				msg = msgAbort
			} else if j.onGo != nil {
				j.onGo()
			}
			if serr := a.signal(j.peers, msg); serr != nil && err == nil {
				err = serr
			}
			if err != nil {
				return err
			}
		} else {
			select {
			case <-j.started:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			if j.failed {
				return errPreloadFailed
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, j.count)
	for k := range j.count {
		wg.Go(func() { errs[k] = share(j.plan, j.first+k) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// signal sends msg to every peer, by Diggi message (encrypted between
// trusted agents).
func (a *ClientAgent) signal(peers []diggi.AgentID, msg []byte) error {
	var err error
	if rerr := a.ctx.Scheduler().Run(func() {
		for _, p := range peers {
			err = errors.Join(err, a.ctx.Messages().Send(p, msg))
		}
	}); rerr != nil {
		return fmt.Errorf("client agent %s: signal: %w", a.ctx.Info(), rerr)
	}
	if err != nil {
		return fmt.Errorf("client agent %s: signal: %w", a.ctx.Info(), err)
	}
	return nil
}
