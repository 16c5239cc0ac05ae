package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/experiments"
	"github.com/securecached/securecached/ycsb"
	"github.com/spf13/pflag"
)

// inprocTarget is --target's value for the thesis's in-process setup: YCSB
// client agents and a SecureCached agent in one Diggi instance, talking
// over Diggi sockets (package experiments).
const inprocTarget = "inproc"

// pipelineHelp is --pipeline's help, for inproc and TCP targets alike.
const pipelineHelp = "YCSB client threads sharing one connection (inproc: per client agent; tcp:// and tls://: one connection per server for each group of K threads); 1 = YCSB's model, one outstanding request per client; more = pipelined"

// inprocFlags configure the in-process deployment. --threads is the number
// of YCSB client agents there.
type inprocFlags struct {
	trusted   string
	cacheArgs string
	pipeline  int
	window    int
}

func (f *inprocFlags) register(fs *pflag.FlagSet, sweep bool) {
	help := "inproc: agents run trusted (simulated enclaves, encrypted messages): true or false"
	def := "true"
	if sweep {
		help += ", or both (two series)"
		def = "both"
	}
	fs.StringVar(&f.trusted, "trusted", def, help)
	fs.StringVar(&f.cacheArgs, "cache-args", "-m 1024", "inproc: memcached flags of the cache agent")
	fs.IntVar(&f.pipeline, "pipeline", 1, pipelineHelp)
	fs.IntVar(&f.window, "window", 0, fmt.Sprintf("inproc: 0 = blocking clients (--pipeline threads per agent); K in 1..%d = the pipelined model: each agent runs one event-driven YCSB client with K transactions outstanding, batched into shared socket writes (binary protocol only)", ycsb.MaxWindow))
}

// modes returns the trust settings to run.
func (f *inprocFlags) modes(sweep bool) ([]bool, error) {
	switch f.trusted {
	case "true":
		return []bool{true}, nil
	case "false":
		return []bool{false}, nil
	case "both":
		if sweep {
			return []bool{true, false}, nil
		}
	}
	return nil, fmt.Errorf("%w: --trusted %q", errUsage, f.trusted)
}

func (f *inprocFlags) setup(b *benchFlags, clients int, trusted bool) (experiments.Setup, error) {
	cfg, err := b.clientConfig(nil)
	if err != nil {
		return experiments.Setup{}, err
	}
	if b.distrib != "ketama" {
		return experiments.Setup{}, fmt.Errorf("%w: --distribution does not apply to --target inproc (one cache agent)", errUsage)
	}
	if f.pipeline < 1 {
		return experiments.Setup{}, fmt.Errorf("%w: --pipeline %d", errUsage, f.pipeline)
	}
	if f.window < 0 || f.window > ycsb.MaxWindow {
		return experiments.Setup{}, fmt.Errorf("%w: --window %d (want 0..%d)", errUsage, f.window, ycsb.MaxWindow)
	}
	if f.window > 0 && f.pipeline > 1 {
		return experiments.Setup{}, fmt.Errorf("%w: --window and --pipeline > 1 are two different client models; pick one", errUsage)
	}
	if f.window > 0 && cfg.Protocol != client.Binary {
		return experiments.Setup{}, fmt.Errorf("%w: --window speaks the binary protocol only", errUsage)
	}
	return experiments.Setup{
		Clients: clients, Trusted: trusted, Threads: f.pipeline, Window: f.window,
		CacheArgs: strings.Fields(f.cacheArgs), Protocol: cfg.Protocol, Timeout: b.timeout,
	}, nil
}

func seriesName(trusted bool, pipeline, window int) string {
	name := "untrusted"
	if trusted {
		name = "trusted"
	}
	switch {
	case window > 0:
		name += fmt.Sprintf(" (window %d)", window)
	case pipeline > 1:
		name += fmt.Sprintf(" (pipelined x%d)", pipeline)
	}
	return name
}

// model says which deployment and client model ran, for the report.
func (f *inprocFlags) model(trusted bool) string {
	trust := "untrusted"
	if trusted {
		trust = "trusted"
	}
	if f.window > 0 {
		return fmt.Sprintf("%s, pipelined model: one event-driven client per agent, window %d", trust, f.window)
	}
	return fmt.Sprintf("%s, YCSB's model: blocking client threads per agent: %d", trust, f.pipeline)
}

// inprocPhase runs phase with clients agents on a fresh deployment. A run
// phase needs records: with --preload client agent 0 loads them and starts
// the others (the thesis's coordination), otherwise every agent loads its
// share first, unmeasured.
func (f *inprocFlags) inprocPhase(ctx context.Context, b *benchFlags, w *ycsb.Workload, table string, phase ycsb.Phase, clients int, trusted bool, label string) (*ycsb.Result, error) {
	s, err := f.setup(b, clients, trusted)
	if err != nil {
		return nil, err
	}
	bench, err := experiments.Start(s)
	if err != nil {
		return nil, err
	}
	defer bench.Close()
	opts := experiments.RunOptions{
		PlanOptions: ycsb.PlanOptions{Target: b.rate, Seed: b.seed, SliceKeys: b.slice},
		Table:       table,
	}
	if phase == ycsb.PhaseRun {
		if b.preload {
			opts.Preload = true
		} else if _, err := bench.Execute(ctx, w, ycsb.PhaseLoad, experiments.RunOptions{Table: table, PlanOptions: ycsb.PlanOptions{Seed: b.seed}}); err != nil {
			return nil, fmt.Errorf("loading the records: %w", err)
		}
	}
	if !b.noProgess {
		opts.Progress = progressLine(os.Stderr, label)
	}
	return bench.Execute(ctx, w, phase, opts)
}
