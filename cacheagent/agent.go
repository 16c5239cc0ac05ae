package cacheagent

import (
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/diggi/posix"
	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/trust"
)

// Hooks connect a cache agent to its process. All are optional.
type Hooks struct {
	// Enclave returns the agent's enclave (trust/diggichannel's
	// Factory.Enclave). A trusted agent with -Z and no ssl_chain_cert uses
	// it for an RA-TLS certificate.
	Enclave func(diggi.Info) (trust.Enclave, error)
	// Certificates, if set, gives a trusted agent with -Z and no
	// ssl_chain_cert the certificate source of its listener: certificates
	// an attestation-gated CA issued (trust/ca), which stock clients
	// verify, instead of RA-TLS ones.
	Certificates func(diggi.Info) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error)
	// Shutdown runs when a client sends "shutdown" (with -A); graceful is
	// "shutdown graceful". It is called on a goroutine of its own, never
	// under the agent's baton.
	Shutdown func(graceful bool)
	// Graceful, if set, says while the agent stops whether the process
	// stops gracefully (SIGUSR1, "shutdown graceful"): only then is -e's
	// warm restart file written, as memcached writes its memory file.
	Graceful func() bool
	// Started, if set, receives the agent once it listens (tests, stats).
	Started func(*Agent)
	// Verbosity, if set, receives the level a client's verbosity command
	// sets on the named agent, so that the process's log lets the new
	// level's lines through.
	Verbosity func(agent string, level uint32)
	// Gateways, if set, returns the counters of the gateways that relay
	// to the named agent, for "stats". Without it, or when no gateway
	// relays to the agent, threads is -t and the others 0.
	Gateways func(agent string) GatewayStats
}

// GatewayStats are the counters of the gateways that relay to a cache
// agent, which memcached reports for its own listener and workers. They
// are the untrusted gateways' counts, reported as given.
type GatewayStats struct {
	Relays    int    // gateway relays: memcached's threads / num_threads
	Rejected  uint64 // rejected_connections: refused at -c
	IdleKicks uint64 // idle_kicks: closed at idle_timeout
}

// Factory returns the diggi factory for cache agents wired to hooks.
func Factory(h Hooks) diggi.Factory {
	return func() diggi.Agent { return &Agent{hooks: h} }
}

// Register adds the cache agent kind to r.
func Register(r *diggi.Registry, h Hooks) error { return r.Register(Kind, Factory(h)) }

// tickEvery is how often the engine's clock and maintenance advance. The
// engine counts whole seconds, but ticks arrive as messages and can be late
// on a loaded host. Ticking four times a second keeps the engine's "now"
// within about a quarter second of the host's, not a second or more, so
// expiry and delayed flush_all land when memcached's would. Each tick's
// maintenance is bounded, so the extra ticks cost little.
const tickEvery = 250 * time.Millisecond

// readBufSize is the agent's read buffer: one Diggi data chunk, so one read
// takes everything one message carried.
const readBufSize = 32 << 10

// Agent is one cache agent. Everything but the atomics is touched only
// under the agent's baton.
type Agent struct {
	hooks Hooks
	ctx   *diggi.Context
	sys   *posix.Sys
	as    agentSettings

	engine *memcache.Cache
	shared conn.Shared
	cset   conn.Settings
	auth   *authFile
	host   host

	listenFd int
	listenEv posix.Event
	buf      []byte
	corked   bool   // replies are held until uncork runs (corkBurst)
	uncorkFn func() // a.uncork, bound once

	nextID   int
	sessions map[int]*session // by fd, TLS ones handshaking included

	tlsConfig *tls.Config
	tlsWG     sync.WaitGroup // handshake goroutines

	verbosity atomic.Uint32
	curr      atomic.Int64
	peak      int64 // most sessions open at once (under the baton)
	total     atomic.Uint64
	stopTick  func()
}

// Init builds the engine from the agent's options and opens its Diggi port.
func (a *Agent) Init(ctx *diggi.Context) error {
	as, err := parseOptions(ctx.Options())
	if err != nil {
		return fmt.Errorf("cache agent %s: %w", ctx.Info(), err)
	}
	a.ctx, a.as = ctx, as
	a.sys = posix.For(ctx)
	a.buf = make([]byte, readBufSize)
	a.uncorkFn = a.uncork
	a.sessions = map[int]*session{}
	a.cset = ConnSettings(&as.set)
	a.cset.Trusted = ctx.Trusted()
	a.host = host{a: a}
	a.verbosity.Store(uint32(min(as.set.Verbose, 3)))
	if as.set.AuthFile != "" {
		if a.auth, err = loadAuthFile(as.set.AuthFile); err != nil {
			return fmt.Errorf("cache agent %s: %w", ctx.Info(), err)
		}
	}
	if a.engine, err = memcache.New(EngineConfig(&as.set), time.Now()); err != nil {
		return fmt.Errorf("cache agent %s: cache engine: %w", ctx.Info(), err)
	}
	if as.set.MemoryFile != "" {
		if err := a.restoreWarm(); err != nil {
			return fmt.Errorf("cache agent %s: %w", ctx.Info(), err)
		}
	}
	a.engine.SetEvictionHook(a.shared.WatchEviction)
	a.engine.SetFetchHook(a.shared.WatchFetch)
	if on, err := a.engine.LargePages(); on && err != nil {
		// memcached goes on with normal pages too.
		ctx.Log().Warn("-L: huge pages not available, the preallocated memory uses the default page size", "err", err)
	}
	if as.tls {
		if a.tlsConfig, err = a.serverTLSConfig(); err != nil {
			return fmt.Errorf("cache agent %s: %w", ctx.Info(), err)
		}
	}
	return nil
}

// Start listens and starts the engine's clock.
func (a *Agent) Start(ctx *diggi.Context) error {
	if err := a.listen(); err != nil {
		return fmt.Errorf("cache agent %s: %w", ctx.Info(), err)
	}
	// Timers come from outside the agent as messages (thesis §4: an
	// enclave has no trusted clock of its own to poll).
	a.stopTick = ctx.Messages().Every(tickEvery, func(now time.Time) { a.engine.Tick(now) })
	ctx.Log().Info("cache agent listening", "port", a.as.port, "trusted", ctx.Trusted(), "tls", a.tlsConfig != nil)
	if !a.contentLogging() && a.as.set.Verbose >= 2 {
		ctx.Log().Warn("-vv and -vvv log commands, keys and values only from an untrusted cache agent: this one is trusted, and the log is outside its enclave; connections are still logged")
	}
	if a.hooks.Started != nil {
		a.hooks.Started(a)
	}
	return nil
}

// Receive drops messages nobody subscribed to: clients speak to the cache
// through sockets only.
func (a *Agent) Receive(m *diggi.Message) {}

// Stop closes every client and the listener. TLS sessions run goroutines
// that need the baton to finish, so Stop waits for them without it.
func (a *Agent) Stop(ctx *diggi.Context) {
	if a.stopTick != nil {
		a.stopTick()
	}
	for _, s := range a.sessions {
		s.close()
	}
	// Handshake goroutines end once their sockets are gone; they need the
	// baton to notice, so wait without it.
	ctx.Scheduler().Block(a.tlsWG.Wait)
	// Sessions are closed, so no reservation or item pin is outstanding
	// and no client changes the cache any more.
	if a.as.set.MemoryFile != "" && a.hooks.Graceful != nil && a.hooks.Graceful() {
		if err := a.saveWarm(); err != nil {
			ctx.Log().Error("warm restart: items not saved", "err", err)
		}
	}
}

// Port returns the Diggi port the agent serves.
func (a *Agent) Port() uint16 { return a.as.port }

// TLS reports whether the agent terminates TLS on its port.
func (a *Agent) TLS() bool { return a.tlsConfig != nil }

// contentLogging reports whether -vv and -vvv may log what clients send and
// receive (commands, keys, values): only from an untrusted agent. A trusted
// agent's log lines leave the enclave for the host, which DESIGN.md says
// must only ever see ciphertext of a trusted agent's data.
func (a *Agent) contentLogging() bool { return !a.ctx.Trusted() }

// CurrConnections is the number of open client sessions.
func (a *Agent) CurrConnections() int64 { return a.curr.Load() }

// newConn starts a state machine for a client (under the baton).
func (a *Agent) newConn() (*conn.Conn, int) {
	a.nextID++
	a.peak = max(a.peak, a.curr.Add(1))
	a.total.Add(1)
	a.logConn(a.nextID, a.newConnWords())
	c := conn.New(a.engine, &a.host, &a.shared, a.cset)
	if a.contentLogging() {
		c.SetTracer(&a.host, a.nextID) // a trusted agent's connections have none
	}
	return c, a.nextID
}

// endConn is newConn's counterpart (under the baton).
func (a *Agent) endConn(c *conn.Conn, id int) {
	c.Close()
	a.curr.Add(-1)
	a.logConn(id, "connection closed.")
}

// newConnWords is how memcached's -vv announces a client: by the
// protocol it will speak (-B; -Y implies ascii).
func (a *Agent) newConnWords() string {
	switch {
	case a.cset.ASCIIAuth || a.cset.Protocol == conn.ProtocolASCII:
		return "new ascii client connection."
	case a.cset.Protocol == conn.ProtocolBinary:
		return "new binary client connection."
	}
	return "new auto-negotiating client connection"
}

func (a *Agent) logConn(id int, what string) {
	if a.verbosity.Load() >= 2 {
		a.ctx.Log().Info(fmt.Sprintf("<%d %s", id, what))
	}
}

func (a *Agent) localAddr() netconn.Addr {
	return netconn.Addr{Agent: a.ctx.ID(), Name: a.ctx.Info().String(), Port: a.as.port}
}
