package diggi

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// InstanceOptions are the parts of an instance a program (or a test)
// supplies in code rather than in the configuration file.
type InstanceOptions struct {
	Registry *Registry      // agent kinds; DefaultRegistry if nil
	Router   Router         // routing step of the message scheduler; Direct if nil (see Router)
	Channels ChannelFactory // per-pair payload protection; plaintext if nil (refused with a trusted agent)
	Logger   *slog.Logger   // slog.Default() if nil
	// QueueTap, if set, sees every message offered to an agent's outbound
	// or inbound queue, on the router's path and on the direct path alike,
	// before the queue takes it; a message whose offer is refused (a full
	// queue) is seen again when it is offered again. It must not keep or
	// change the message. Tests use it to check what the untrusted queues
	// hold.
	QueueTap func(*Message)
}

// Instance is a Diggi instance and its agent-agent (§3.1): it creates the
// configured agents, runs the global message scheduler, publishes the
// directory and starts and stops the agents.
type Instance struct {
	cfg    Config
	id     InstanceID
	mover  *mover
	dir    *Directory
	agents []*agentRT
	log    *slog.Logger

	mu    sync.Mutex
	state int
}

const (
	stateNew = iota
	stateRunning
	stateStopped
)

type agentRT struct {
	agent   Agent
	ctx     *Context
	ep      *endpoint
	started bool
}

// ErrNoChannels is returned by NewInstance for a configuration with a
// trusted agent but no InstanceOptions.Channels: without a factory every
// pair would be plaintext, and a trusted agent must never silently run
// without payload protection.
var ErrNoChannels = errors.New("diggi: trusted agent configured without a channel factory")

// NewInstance creates the agents a configuration names (ids 1, 2, … in
// configuration order) without running any of their code. A configuration
// with a trusted agent needs opts.Channels (ErrNoChannels otherwise).
func NewInstance(cfg Config, opts InstanceOptions) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Channels == nil {
		for _, ac := range cfg.Agents {
			if ac.Trusted {
				return nil, fmt.Errorf("instance %s: agent %s is trusted: %w (set InstanceOptions.Channels)", cfg.Instance, ac.Name, ErrNoChannels)
			}
		}
	}
	reg := opts.Registry
	if reg == nil {
		reg = DefaultRegistry
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	id := InstanceID(cfg.ID)
	if id == 0 {
		id = InstanceIDFromName(cfg.Instance)
	}
	qs := cfg.QueueSize
	if qs == 0 {
		qs = DefaultQueueSize
	}
	in := &Instance{
		cfg:   cfg,
		id:    id,
		mover: newMover(id, opts.Router, opts.QueueTap),
		dir:   newDirectory(cfg.Instance),
		log:   log.With("instance", cfg.Instance),
	}
	for i, ac := range cfg.Agents {
		a, err := reg.New(ac.Kind)
		if err != nil {
			return nil, fmt.Errorf("instance %s: agent %s: %w", cfg.Instance, ac.Name, err)
		}
		info := Info{ID: MakeAgentID(id, uint32(i+1)), Name: ac.Name, Kind: ac.Kind, Instance: cfg.Instance, Trusted: ac.Trusted}
		alog := in.log.With("agent", ac.Name, "id", info.ID.String(), "kind", ac.Kind, "trusted", ac.Trusted)
		ep := newEndpoint(info.ID, in.mover, qs)
		ep.arm() // no delivery before every agent's Init
		sched := NewScheduler(info.String(), alog)
		ctx := &Context{
			info:    info,
			options: ac.Options,
			sched:   sched,
			log:     alog,
			dir:     in.dir,
		}
		ctx.mm = newManager(info, ep, sched, in.dir, opts.Channels, alog)
		ctx.mm.fallback = a.Receive
		if err := in.mover.attach(ep); err != nil {
			return nil, err
		}
		if err := in.dir.Add(info); err != nil {
			return nil, err
		}
		in.agents = append(in.agents, &agentRT{agent: a, ctx: ctx, ep: ep})
	}
	return in, nil
}

// ID returns the instance id (the high half of its agents' ids).
func (in *Instance) ID() InstanceID { return in.id }

// Name returns the instance's configured name.
func (in *Instance) Name() string { return in.cfg.Instance }

// Config returns the configuration the instance was made from.
func (in *Instance) Config() Config { return in.cfg }

// Directory returns the instance's directory.
func (in *Instance) Directory() *Directory { return in.dir }

// RouterStats counts what the global message scheduler could not deliver.
type RouterStats struct {
	Bounced uint64 // requests answered with an error response
	Dropped uint64 // other messages discarded (destination unknown or gone)
}

// RouterStats returns the message scheduler's counters.
func (in *Instance) RouterStats() RouterStats {
	return RouterStats{Bounced: in.mover.bounced.Load(), Dropped: in.mover.dropped.Load()}
}

// Context returns the context of the named local agent, so that a program
// embedding the instance (or a test) can run code in that agent with
// Scheduler().Run.
func (in *Instance) Context(name string) (*Context, bool) {
	for _, a := range in.agents {
		if a.ctx.info.Name == name {
			return a.ctx, true
		}
	}
	return nil, false
}

// Start runs every agent's Init in configuration order, opens delivery,
// then runs every Start in order. If any fails, the agents already started
// are stopped and the error returned.
func (in *Instance) Start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state != stateNew {
		return fmt.Errorf("start instance %s: already started", in.cfg.Instance)
	}
	in.state = stateRunning
	in.mover.start()
	for _, a := range in.agents {
		if err := runTask(a.ctx.sched, func() error { return a.agent.Init(a.ctx) }); err != nil {
			in.stopLocked()
			return fmt.Errorf("instance %s: init %s: %w", in.cfg.Instance, a.ctx.info.Name, err)
		}
	}
	for _, a := range in.agents {
		if a.ep.disarm() {
			a.ep.drain()
		}
	}
	for _, a := range in.agents {
		a.started = true
		if err := runTask(a.ctx.sched, func() error { return a.agent.Start(a.ctx) }); err != nil {
			in.stopLocked()
			return fmt.Errorf("instance %s: start %s: %w", in.cfg.Instance, a.ctx.info.Name, err)
		}
		a.ctx.log.Debug("agent started")
	}
	return nil
}

// Stop stops the agents in reverse order (each Stop runs, then the layers'
// AtStop hooks), ends their schedulers and the message scheduler and
// recycles every queued message. Safe to call more than once.
func (in *Instance) Stop() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state != stateRunning {
		in.state = stateStopped
		return nil
	}
	return in.stopLocked()
}

func (in *Instance) stopLocked() error {
	in.state = stateStopped
	var errs []error
	for i := len(in.agents) - 1; i >= 0; i-- {
		a := in.agents[i]
		err := runTask(a.ctx.sched, func() error {
			if a.started {
				a.agent.Stop(a.ctx)
			}
			a.ctx.runAtStop()
			a.ctx.mm.shutdown()
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", a.ctx.info.Name, err))
		}
		a.ep.gone.Store(true)
		in.dir.Remove(a.ctx.info.ID)
	}
	for _, a := range in.agents {
		a.ctx.sched.Close()
	}
	in.mover.stop()
	left := 0
	for _, a := range in.agents {
		for _, q := range []*ring{a.ep.in, a.ep.out} {
			for m := q.pop(); m != nil; m = q.pop() {
				Release(m)
				left++
			}
		}
	}
	in.log.Debug("instance stopped", "discarded_messages", left)
	return errors.Join(errs...)
}

// runTask runs fn as a task on s and waits for it, recovering a panic into
// an error.
func runTask(s *Scheduler, fn func() error) error {
	done := make(chan error, 1)
	err := s.scheduleOnWorker(func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v", r)
			}
		}()
		done <- fn()
	})
	if err != nil {
		return err
	}
	return <-done
}
