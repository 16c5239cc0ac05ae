package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/securecached/securecached/experiments"
	"github.com/securecached/securecached/ycsb"
)

// remoteWindow is the pipelined model's window per client agent in the
// experiments across instances (fig5.3, fig5.5): requests outstanding per
// agent. The thesis's asynchronous client names no window; a wider one
// carries more operations per message and per write, and so costs less
// CPU per operation where the two cores are the bound (bench/RESULTS.md,
// 2026-12-07).
const remoteWindow = 64

// runFig53 is Figure 5.3: inter-process. One securecached process holds a
// trusted cache agent (instance "cachenode", no gateway); this process
// hosts a second Diggi instance with 1-5 trusted YCSB client agents, linked
// to the first by an attested link on 127.0.0.1. Both client models; agent
// 0 preloads and then starts the others; the key space is sliced.
func runFig53(ctx context.Context, e *expEnv) (map[string]any, error) {
	// The pipelined model runs five times the operations of YCSB's: at
	// 400K ops/s, 30 000 per client agent were gone in 0.1-0.4 s, a
	// window short enough for one burst of the machine's other work to
	// decide a point (bench/RESULTS.md, 2026-12-08).
	counts, ops, pipeOps := []int{1, 2, 3, 4, 5}, int64(30_000), int64(150_000)
	if e.short {
		counts, ops, pipeOps = []int{1, 2}, 2_000, 2_000
	}
	b := fig53Flags(e.seed, e.quiet)
	w, props, err := b.workloadFrom()
	if err != nil {
		return nil, err
	}
	table := props.String("table", "usertable")
	state, err := os.MkdirTemp("", "scbench-fig53-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(state)
	var all []series
	costs := map[string][][2]float64{} // per series and point: CPU µs and switches per op
	for _, model := range []inprocFlags{
		{trusted: "true", cacheArgs: "-m 1024", pipeline: 1},
		{trusted: "true", cacheArgs: "-m 1024", pipeline: 1, window: remoteWindow},
	} {
		s := series{name: "trusted, YCSB model"}
		if model.window > 0 {
			s.name = fmt.Sprintf("trusted, pipelined (window %d)", model.window)
		}
		for _, n := range counts {
			wn := *w
			wn.OperationCount = ops * int64(n)
			if model.window > 0 {
				wn.OperationCount = pipeOps * int64(n)
			}
			res, u, err := model.remotePhase(ctx, &b, e, state, &wn, table, n, fmt.Sprintf("fig5.3 %s %d clients", s.name, n))
			if err != nil {
				return nil, fmt.Errorf("%s with %d clients: %w", s.name, n, err)
			}
			s.points = append(s.points, pointFrom(n, res, b.ciLevel))
			cpu, sw := u.perOp(res.TotalOps())
			costs[s.name] = append(costs[s.name], [2]float64{cpu, sw})
			if !e.quiet {
				fmt.Fprintf(e.stderr, "fig5.3 %s, %d clients: %.0f ops/s, %.1f us CPU and %.2f context switches per op (both processes)\n",
					s.name, n, res.ThesisThroughput(), cpu, sw)
			}
		}
		all = append(all, s)
	}
	if err := writeFile(e.path("fig5.3", "csv"), func(f io.Writer) error { return writeSweepCSV(f, all) }); err != nil {
		return nil, err
	}
	title := fmt.Sprintf("Fig. 5.3: inter-process (two instances, attested link), YCSB-B 1 KB, %d ops per client agent (pipelined %d)", ops, pipeOps)
	if err := writeFile(e.path("fig5.3", "png"), func(f io.Writer) error { return plotSweep(f, title, all, b.ciLevel) }); err != nil {
		return nil, err
	}
	head := map[string]any{"thesis_ops_s": 40_000, "thesis_note": "inter-process, SGX, YCSB model"}
	headlines(head, all)
	costHeadlines(head, all, costs)
	return head, nil
}

// costHeadlines adds, for each series, the CPU time and context switches
// per operation of its processes at the point of its best throughput.
func costHeadlines(head map[string]any, all []series, costs map[string][][2]float64) {
	for _, s := range all {
		i := 0
		for j, p := range s.points {
			if p.throughput > s.points[i].throughput {
				i = j
			}
		}
		c := costs[s.name]
		if i >= len(c) {
			continue
		}
		key := strings.NewReplacer(", ", "_", " ", "_", "(", "", ")", "").Replace(s.name)
		head[key+"_cpu_us_per_op"] = c[i][0]
		head[key+"_switches_per_op"] = c[i][1]
		// The throughput the machine's cores, wholly the experiment's,
		// would carry at that CPU per operation.
		if c[i][0] > 0 {
			head[key+"_cpu_bound_ops_s"] = round(float64(runtime.NumCPU()) * 1e6 / c[i][0])
		}
	}
}

// headlines adds each series' best throughput, where it was reached, and
// its errors to head.
func headlines(head map[string]any, all []series) {
	for _, s := range all {
		best := slices.MaxFunc(s.points, func(a, b point) int { return cmpFloat(a.throughput, b.throughput) })
		key := strings.NewReplacer(", ", "_", " ", "_", "(", "", ")", "").Replace(s.name)
		head[key+"_max_ops_s"] = round(best.throughput)
		head[key+"_max_at_clients"] = best.clients
		head[key+"_errors"] = sumErrors(s.points)
	}
}

// remotePhase runs one run phase with n client agents in this process's
// instance against a fresh cache process: agent 0 preloads, then starts
// the others. The cost is both processes', from agent 0's start message
// to the end of the run: neither the cache's start-up nor the preload.
func (f *inprocFlags) remotePhase(ctx context.Context, b *benchFlags, e *expEnv, state string, w *ycsb.Workload, table string, n int, label string) (*ycsb.Result, cost, error) {
	s, err := f.remoteSetup(b, n, "127.0.0.1:0", state)
	if err != nil {
		return nil, cost{}, err
	}
	bench, err := experiments.Start(s)
	if err != nil {
		return nil, cost{}, err
	}
	defer bench.Close()
	cache, err := startCache(state, cacheInstance, cacheLayout(s.Remote, "127.0.0.1:0", []string{bench.LinkAddr()}, s.Config()), e.cacheEnv, nil)
	if err != nil {
		return nil, cost{}, err
	}
	defer cache.stop()
	if err := waitLinked(ctx, bench, cache); err != nil {
		return nil, cost{}, err
	}
	opts := experiments.RunOptions{
		PlanOptions: ycsb.PlanOptions{Target: b.rate, Seed: b.seed, SliceKeys: b.slice},
		Table:       table, Preload: true,
	}
	if !b.noProgess {
		opts.Progress = progressLine(os.Stderr, label)
	}
	pid := cache.cmd.Process.Pid
	var c0, s0 cost
	var startErr error
	opts.Started = func() { c0, startErr = procUsage(pid); s0 = selfUsage() }
	res, err := bench.Execute(ctx, w, ycsb.PhaseRun, opts)
	if err != nil {
		return nil, cost{}, err
	}
	if startErr != nil {
		return nil, cost{}, startErr
	}
	c1, err := procUsage(pid)
	if err != nil {
		return nil, cost{}, err
	}
	return res, selfUsage().sub(s0).add(c1.sub(c0)), nil
}

// fig53Flags are Fig. 5.3's workload and client settings: the thesis's
// YCSB-B with 1 KB values, agent 0 preloading, sliced keys.
func fig53Flags(seed uint64, quiet bool) benchFlags {
	b := benchFlags{seed: seed, preload: true, slice: true, protocol: "binary", ciLevel: 0.96,
		timeout: 5 * time.Second, distrib: "ketama", noProgess: quiet}
	thesisWorkload(&b, 10_000)
	return b
}

// remoteSetup is the client instance of Fig. 5.3 with n trusted client
// agents, its link on listen, sharing the sim platform of state with the
// cache's instance.
func (f *inprocFlags) remoteSetup(b *benchFlags, n int, listen, state string) (experiments.Setup, error) {
	s, err := f.setup(b, n, true)
	if err != nil {
		return s, err
	}
	s.Remote = &experiments.Remote{Instance: "ycsb", CacheInstance: cacheInstance, CacheTrusted: true,
		CacheArgs: s.CacheArgs, Listen: listen, StateDir: state}
	return s, nil
}
