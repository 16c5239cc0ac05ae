package experiments

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/diggichannel"
	"github.com/securecached/securecached/ycsb"
)

// CacheName is the cache agent's name in the instance.
const CacheName = "cache"

// MaxClients bounds the client agents of one instance.
const MaxClients = 1024

// signer signs the agents' enclaves and the link's, as securecached's
// deployments do (server.SignerKey).
var signer = trust.SignerFromKey([]byte("securecached"))

// ErrSetup marks a Setup that cannot work.
var ErrSetup = errors.New("experiments: bad setup")

// Setup describes one in-process deployment.
type Setup struct {
	Clients int  // YCSB client agents (the thesis: 1 to 6)
	Trusted bool // every agent in a (simulated) enclave; messages encrypted
	// Threads is the number of YCSB client threads per agent, sharing the
	// agent's one connection. 1 (the default) is YCSB's model: one
	// outstanding request per client; more pipeline requests.
	Threads int
	// Window > 0 selects the pipelined model instead: each agent runs one
	// YCSB client from its event loop with up to Window transactions
	// outstanding, their requests batched into shared socket writes (the
	// thesis's asynchronous client). Threads must then be 1.
	Window    int
	CacheArgs []string        // memcached flags for the cache agent ("-m", "1024")
	Protocol  client.Protocol // default binary, as the thesis
	Timeout   time.Duration   // per operation; default the client's (2s)
	Logger    *slog.Logger    // default: discard
	// Router, if set, sees every message between agents (tests tap it).
	Router diggi.Router
	// Remote, if set, leaves the cache agent out: it lives in another
	// instance, reached over an attested link (remote.go).
	Remote *Remote
	// TCPTargets are TCP servers ("HOST:PORT") the client agents put on
	// one ketama ring beside the cache agent: a pool mixing the two
	// kinds (OptTarget). They are never trusted.
	TCPTargets []string
	// Caches is the number of cache agents (default 1): "cache",
	// "cache1", "cache2" ... in the instance, or with Remote one in each
	// of CacheInstances. The client agents spread keys over them with
	// ketama, in both client models.
	Caches int
}

// Bench is a running in-process deployment.
type Bench struct {
	setup   Setup
	in      *diggi.Instance
	agents  []*ClientAgent
	factory *diggichannel.Factory
	node    *cluster.Node // with Setup.Remote

	mu     sync.Mutex // one phase at a time
	closed bool
}

func (s *Setup) check() error {
	if s.Clients < 1 || s.Clients > MaxClients {
		return fmt.Errorf("%w: %d client agents (want 1..%d)", ErrSetup, s.Clients, MaxClients)
	}
	if s.Threads == 0 {
		s.Threads = 1
	}
	if s.Threads < 1 || s.Threads > 256 {
		return fmt.Errorf("%w: %d threads per agent (want 1..256)", ErrSetup, s.Threads)
	}
	if s.Window < 0 || s.Window > ycsb.MaxWindow {
		return fmt.Errorf("%w: window %d (want 0..%d)", ErrSetup, s.Window, ycsb.MaxWindow)
	}
	if s.Window > 0 && s.Protocol != client.Binary {
		return fmt.Errorf("%w: the pipelined model speaks the binary protocol only", ErrSetup)
	}
	if s.Window > 0 && s.Threads != 1 {
		return fmt.Errorf("%w: %d threads per agent with a window (the pipelined model runs one client per agent)", ErrSetup, s.Threads)
	}
	if s.Caches == 0 {
		s.Caches = 1
	}
	if s.Caches < 1 || s.Caches > 16 {
		return fmt.Errorf("%w: %d cache agents (want 1..16)", ErrSetup, s.Caches)
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// config is the instance: the cache agents, then the client agents.
func (s *Setup) config() diggi.Config {
	cfg := diggi.Config{Instance: "inproc", Agents: []diggi.AgentConfig{{
		Name: CacheName, Kind: cacheagent.Kind, Trusted: s.Trusted,
		Options: cacheagent.Options(s.CacheArgs, cacheagent.DefaultPort, false),
	}}}
	target := fmt.Sprintf("%s:%d", CacheName, cacheagent.DefaultPort)
	if s.Remote != nil {
		cfg = diggi.Config{Instance: s.Remote.Instance}
		var targets []string
		for _, inst := range s.CacheInstances() {
			targets = append(targets, inst+"/"+target)
		}
		target = strings.Join(targets, ",")
	} else {
		for i := 1; i < s.Caches; i++ {
			name := fmt.Sprintf("%s%d", CacheName, i)
			cfg.Agents = append(cfg.Agents, diggi.AgentConfig{Name: name, Kind: cacheagent.Kind, Trusted: s.Trusted,
				Options: cacheagent.Options(s.CacheArgs, cacheagent.DefaultPort, false)})
			target += fmt.Sprintf(",%s:%d", name, cacheagent.DefaultPort)
		}
	}
	for _, t := range s.TCPTargets {
		target += "," + tcpScheme + t
	}
	for i := range s.Clients {
		o := diggi.Options{
			OptTarget:   target,
			OptProtocol: strings.ToLower(protocolName(s.Protocol)),
		}
		if s.Timeout > 0 {
			o[OptTimeout] = s.Timeout.String()
		}
		cfg.Agents = append(cfg.Agents, diggi.AgentConfig{
			Name: fmt.Sprintf("ycsb%d", i), Kind: ClientKind, Trusted: s.Trusted, Options: o,
		})
	}
	return cfg
}

func protocolName(p client.Protocol) string {
	switch p {
	case client.Text:
		return "text"
	case client.Meta:
		return "meta"
	}
	return "binary"
}

// Start builds and starts the instance. Trusted or not, the agents talk
// through trust/diggichannel with a simulated TEE backend: trusted pairs
// are attested and encrypted, untrusted pairs plaintext.
func Start(s Setup) (*Bench, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	root, plat, err := s.simPlatform()
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	backend, err := trust.NewSimBackend(plat)
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	cfg := s.config()
	spec, err := diggichannel.AgentsFromConfig(cfg, signer)
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	if s.Remote != nil {
		for _, inst := range s.CacheInstances() {
			if err := spec.Add(s.Remote.CacheConfigFor(inst)); err != nil {
				return nil, fmt.Errorf("experiments: %w", err)
			}
		}
	}
	b := &Bench{setup: s}
	b.factory, err = diggichannel.New(diggichannel.Options{
		Backend: backend, Agents: spec, AllowSimulated: true,
		SimRoots: []*x509.Certificate{root.Certificate()}, AllowPlaintext: !s.Trusted, Logger: s.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	reg := diggi.NewRegistry()
	if err := cacheagent.Register(reg, cacheagent.Hooks{Enclave: b.factory.Enclave}); err != nil {
		return nil, err
	}
	// Start runs the agents' Starts in configuration order, so the
	// client agents are reported in order.
	if err := reg.Register(ClientKind, clientFactory(func(a *ClientAgent) { b.agents = append(b.agents, a) })); err != nil {
		return nil, err
	}
	b.in, err = diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Router: s.Router, Channels: b.factory.ChannelFactory(), Logger: s.Logger})
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	if s.Remote != nil {
		if err := b.join(backend, root); err != nil {
			return nil, err
		}
	}
	if err := b.in.Start(); err != nil {
		if b.node != nil {
			b.node.Close()
		}
		return nil, fmt.Errorf("experiments: %w", err)
	}
	if len(b.agents) != s.Clients {
		b.Close()
		return nil, fmt.Errorf("experiments: %d of %d client agents started", len(b.agents), s.Clients)
	}
	return b, nil
}

// Agents are the client agents, in order.
func (b *Bench) Agents() []*ClientAgent { return b.agents }

// Instance is the Diggi instance.
func (b *Bench) Instance() *diggi.Instance { return b.in }

// RunOptions say how to run one phase.
type RunOptions struct {
	ycsb.PlanOptions
	// Preload is the thesis's coordination: before the run phase, client
	// agent 0 loads every record alone, then tells the others to start by
	// a Diggi message. Result.Preload holds the load's measurements.
	Preload bool
	// Started, if set with Preload, is called once when the preload has
	// succeeded, just before agent 0 sends the start message: the run
	// phase begins there, so a cost measured from it leaves out the
	// preload and what the cache did before it.
	Started func()
	Table   string // default "usertable"
	// Progress, if set, is called about once a second.
	Progress func(done, total int64, elapsed time.Duration)
	// Agents, if > 0, runs the phase on the first Agents client agents
	// only: clients added one at a time to running instances (Figs. 5.5,
	// 5.6).
	Agents int
}

// Execute runs one phase of w on every client agent (Clients × Threads
// YCSB clients, or Clients pipelined clients). A load phase inserts the records, divided among the
// clients; a run phase does w's operations.
func (b *Bench) Execute(ctx context.Context, w *ycsb.Workload, phase ycsb.Phase, o RunOptions) (*ycsb.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("experiments: %w", client.ErrClosed)
	}
	if o.Table == "" {
		o.Table = "usertable"
	}
	if w.MaxExecutionTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(w.MaxExecutionTime)*time.Second)
		defer cancel()
	}
	agents := b.agents
	if o.Agents > 0 {
		if o.Agents > len(agents) {
			return nil, fmt.Errorf("%w: %d of %d client agents", ErrSetup, o.Agents, len(agents))
		}
		agents = agents[:o.Agents]
	}
	threads := b.setup.Threads
	plan, err := ycsb.NewPlan(w, phase, len(agents)*threads, o.PlanOptions)
	if err != nil {
		return nil, err
	}
	var preload *ycsb.Plan
	var peers []diggi.AgentID
	if o.Preload && phase == ycsb.PhaseRun {
		if preload, err = ycsb.NewPlan(w, ycsb.PhaseLoad, 1, ycsb.PlanOptions{Seed: o.Seed}); err != nil {
			return nil, err
		}
		for _, a := range agents[1:] {
			peers = append(peers, a.ctx.ID())
		}
	}
	jobs := make([]*job, len(agents))
	for i := range agents {
		jobs[i] = &job{plan: plan, preload: preload, first: i * threads, count: threads, table: o.Table, window: b.setup.Window, w: w}
		if preload != nil {
			jobs[i].started = make(chan struct{})
			if i == 0 {
				jobs[i].peers, jobs[i].onGo = peers, o.Started
			}
		}
	}

	for i, a := range agents {
		a.setJob(jobs[i])
	}
	begin := time.Now()
	stop := make(chan struct{})
	var progress sync.WaitGroup
	if o.Progress != nil {
		progress.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					o.Progress(plan.Done(), plan.Total(), time.Since(begin))
				}
			}
		})
	}
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Go(func() { errs[i] = a.run(ctx, jobs[i]) })
	}
	wg.Wait()
	close(stop)
	progress.Wait()
	for _, a := range agents {
		a.setJob(nil)
	}
	res := plan.Result()
	if o.Progress != nil {
		o.Progress(plan.Done(), plan.Total(), res.RunTime)
	}
	if preload != nil {
		res.Preload = preload.Result()
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("experiments: %s phase: %w", phase, err)
	}
	if ctx.Err() != nil && w.MaxExecutionTime == 0 {
		return res, fmt.Errorf("experiments: %s phase stopped: %w", phase, context.Cause(ctx))
	}
	return res, nil
}

// Close closes the clients, then stops the instance.
func (b *Bench) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var err error
	for _, a := range b.agents {
		err = errors.Join(err, a.close())
	}
	err = errors.Join(err, b.in.Stop())
	if b.node != nil {
		err = errors.Join(err, b.node.Close())
	}
	return err
}
