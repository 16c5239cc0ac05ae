package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/experiments"
	"github.com/securecached/securecached/server"
	"github.com/securecached/securecached/ycsb"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// multiInstanceArgs run each cache instance with one gateway relay, so
// that n instances compete for the machine's cores on equal terms.
var multiInstanceArgs = []string{"-t", "1", "-m", "256"}

// multiCoresPerInstance is the default of each instance's CPU budget (a
// cgroup quota, --cpu-budget): the emulated machine it stands for. It is
// small enough that 4 instances and the load generator driving them fit
// in 2 cores, so the scaling measured is the instances' (bench/RESULTS.md,
// multi); at least 1 ms per 10 ms period, the least a quota may be.
const multiCoresPerInstance = 0.1

// budget is how the instances of one run share the CPU.
type budget struct {
	cores float64 // per instance; 0: none, the instances share the machine
	note  string  // how, for the output
}

// multiBudget gives each instance cores if cgroups allow it, and the load
// generator (this process) the rest, both ahead of other work on the
// machine; done moves this process back. With cores 0, or without
// cgroups, the instances share the machine's cores with each other and
// the load generator, and the note says so.
func multiBudget(cores float64) (b budget, done func()) {
	if cores <= 0 {
		return budget{note: "none (--cpu-budget 0): instances and load generator share the machine"}, func() {}
	}
	none := func(err error) (budget, func()) {
		return budget{note: "none (" + err.Error() + "): instances and load generator share the machine"}, func() {}
	}
	g, err := newCPUGroup("loadgen", 0)
	if err != nil {
		return none(err)
	}
	leave, err := g.enterSelf()
	if err != nil {
		_ = g.remove()
		return none(err)
	}
	return budget{cores: cores,
			note: fmt.Sprintf("%.2g core per instance (cgroup CPU quota); the load generator gets the rest; both weighted ahead of other work", cores)},
		func() {
			if err := errors.Join(leave(), g.remove()); err != nil {
				fmt.Fprintln(os.Stderr, "scbench multi:", err)
			}
		}
}

// scalePoint is one scaling run: n instances behind the ketama client.
type scalePoint struct {
	pipelined bool // the pipelined model (client agents over Diggi), else YCSB's over TCP
	instances int
	opsPerSec float64
	errors    int64
	// CPU use during the run phase, in cores: this process (the load
	// generator) and the servers together. Their sum against the
	// machine's cores is the bound on scaling.
	loadCores, serverCores float64
	// throttled is the share of the instances' CPU budget periods that
	// ended with the budget used up (0 without budgets): near 1, the
	// instances were the bound.
	throttled float64
}

// model names the client model in the CSV and the plot.
func (p scalePoint) model() string {
	if p.pipelined {
		return "pipelined"
	}
	return "ycsb"
}

// medianRuns is, for each pool size, its run of median throughput.
func medianRuns(runs [][]scalePoint) []scalePoint {
	out := make([]scalePoint, len(runs))
	for i, rs := range runs {
		rs = slices.Clone(rs)
		slices.SortFunc(rs, func(a, b scalePoint) int { return cmpFloat(a.opsPerSec, b.opsPerSec) })
		out[i] = rs[len(rs)/2]
	}
	return out
}

// medianRatio is the median over rounds of a's throughput over b's in the
// same round.
func medianRatio(a, b []scalePoint) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = a[i].opsPerSec / b[i].opsPerSec
	}
	slices.Sort(r)
	return r[len(r)/2]
}

// failureRun is one kill-an-instance run, in 100 ms buckets.
type failureRun struct {
	rehash    bool
	instances int
	bucket    time.Duration
	ok, errs  []int64 // per bucket
	killAt    time.Duration
	stopAfter time.Duration // from the kill until the client stops sending to the killed instance; <0 if never
	errsAfter int64         // errors from the kill to the end
	misses    int64         // gets that missed after the kill (rehashed keys start empty)
	before    float64       // ops/s before the kill
	after     float64       // ops/s from kill+stopAfter to the end
}

// runMulti measures what the thesis built but never measured (§5.6):
// several cache instances, each its own process with a trusted cache
// agent, behind the client library's ketama distribution, each in a CPU
// budget of its own (the emulated machine). First throughput with 1, 2
// and 4 instances in both client models: YCSB's over TCP (securecached
// processes) and the pipelined one over Diggi (cache instances linked to
// this process's client agents). Then, with the largest pool, one
// instance is killed (SIGKILL) a third into the run, once with the
// client's rehash mode and once without.
func runMulti(ctx context.Context, e *expEnv) (map[string]any, error) {
	pools, records, ops, threads, failFor, rounds := []int{1, 2, 4}, 10_000, int64(15_000), multiThreads, 9*time.Second, 3
	if e.short {
		pools, records, ops, failFor, rounds = []int{1, 2}, 1_000, 2_000, 3*time.Second, 1
	}
	bud, done := multiBudget(e.budget)
	defer done()
	fmt.Fprintf(e.stderr, "multi: CPU budget: %s\n", bud.note)
	// Rounds alternate the pool sizes, so that load from outside the
	// experiment falls on all of them alike; each pool size reports its
	// median round, and a speedup is the median of the rounds' ratios.
	// Operations grow with the pool, so each run lasts about as long.
	ycsbRuns, pipeRuns := make([][]scalePoint, len(pools)), make([][]scalePoint, len(pools))
	for range rounds {
		for i, n := range pools {
			p, err := scaleRun(ctx, e, bud, n, records, ops*int64(n), threads*n)
			if err != nil {
				return nil, err
			}
			ycsbRuns[i] = append(ycsbRuns[i], p)
			if p, err = pipeScaleRun(ctx, e, bud, n, records, 3*ops*int64(n)); err != nil {
				return nil, fmt.Errorf("pipelined model, %d instances: %w", n, err)
			}
			pipeRuns[i] = append(pipeRuns[i], p)
		}
	}
	scaling, piped := medianRuns(ycsbRuns), medianRuns(pipeRuns)
	var failures []failureRun
	for _, rehash := range []bool{false, true} {
		f, err := killRun(ctx, e, bud, pools[len(pools)-1], records, multiKillThreads, failFor, rehash)
		if err != nil {
			return nil, err
		}
		failures = append(failures, f)
	}
	all := append(slices.Clip(scaling), piped...)
	if err := writeFile(e.path("multi", "csv"), func(w io.Writer) error { return writeMultiCSV(w, all, failures) }); err != nil {
		return nil, err
	}
	if err := writeFile(e.path("multi", "png"), func(w io.Writer) error { return plotMulti(w, bud, all, failures) }); err != nil {
		return nil, err
	}
	head := map[string]any{"threads_per_instance": threads, "rounds": rounds, "kill_threads": multiKillThreads,
		"pipelined_clients": multiPipeClients, "pipelined_window_per_instance": multiPipeWindow}
	head["machine_cores"] = runtime.NumCPU()
	head["cpu_budget"] = bud.note
	head["cpu_budget_cores_per_instance"] = bud.cores
	for _, model := range [][]scalePoint{scaling, piped} {
		prefix, runs := "", ycsbRuns
		if model[0].pipelined {
			prefix, runs = "pipelined_", pipeRuns
		}
		for _, p := range model {
			head[fmt.Sprintf("%sinstances_%d_ops_s", prefix, p.instances)] = round(p.opsPerSec)
			head[fmt.Sprintf("%sinstances_%d_loadgen_cores", prefix, p.instances)] = round(100*p.loadCores) / 100
			head[fmt.Sprintf("%sinstances_%d_server_cores", prefix, p.instances)] = round(100*p.serverCores) / 100
			if bud.cores > 0 {
				head[fmt.Sprintf("%sinstances_%d_throttled", prefix, p.instances)] = round(100*p.throttled) / 100
			}
		}
		for i, p := range model[1:] {
			head[fmt.Sprintf("%sspeedup_%d_vs_1", prefix, p.instances)] = round(100*medianRatio(runs[i+1], runs[0])) / 100
		}
		if bud.cores > 0 {
			// Each instance costs its budget plus the load generator's
			// CPU to drive it (measured with one): the most instances
			// the machine's cores hold before the load generator, not
			// the instances, becomes the limit.
			head[prefix+"bound_instances"] = round(10*float64(runtime.NumCPU())/(bud.cores+model[0].loadCores)) / 10
		}
	}
	for _, f := range failures {
		mode := "no_rehash"
		if f.rehash {
			mode = "rehash"
		}
		head[mode+"_errors_after_kill"] = f.errsAfter
		head[mode+"_stop_sending_ms"] = f.stopAfter.Milliseconds()
		head[mode+"_ops_s_before"] = round(f.before)
		head[mode+"_ops_s_after"] = round(f.after)
		head[mode+"_misses_after_kill"] = f.misses
	}
	return head, nil
}

// pool is n cache instances, each in its own CPU budget when b gives
// one: securecached processes over TCP (procs, servers), or processes of
// this binary holding a cache agent (the pipelined model).
type pool struct {
	procs   []*process
	pids    []int // every instance's process, for its CPU use
	groups  []*cpuGroup
	servers []client.ServerConfig
}

// budget puts instance i (process pid) in a cgroup of its own with b's
// budget, if b has one.
func (pl *pool) budget(b budget, i, pid int) error {
	pl.pids = append(pl.pids, pid)
	if b.cores == 0 {
		return nil
	}
	g, err := newCPUGroup(fmt.Sprintf("instance%d", i), b.cores)
	if err != nil {
		return err
	}
	pl.groups = append(pl.groups, g)
	return g.add(pid)
}

// cpu is the CPU time the instances have used.
func (pl *pool) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pl.pids {
		d, err := procCPU(pid)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// measure runs one run phase and returns its throughput with the CPU the
// load generator and the instances used meanwhile, and how often the
// instances ran out of budget.
func (pl *pool) measure(n int, run func() (*ycsb.Result, error)) (scalePoint, error) {
	self0, begin := selfCPU(), time.Now()
	srv0, err := pl.cpu()
	if err != nil {
		return scalePoint{}, err
	}
	per0, thr0, err := pl.throttleStats()
	if err != nil {
		return scalePoint{}, err
	}
	res, err := run()
	if err != nil {
		return scalePoint{}, err
	}
	wall := time.Since(begin).Seconds()
	srv1, err := pl.cpu()
	if err != nil {
		return scalePoint{}, err
	}
	per1, thr1, err := pl.throttleStats()
	if err != nil {
		return scalePoint{}, err
	}
	p := scalePoint{instances: n, opsPerSec: res.Throughput(), errors: res.Overall.Errors(),
		loadCores: (selfCPU() - self0).Seconds() / wall, serverCores: (srv1 - srv0).Seconds() / wall}
	if per1 > per0 {
		p.throttled = float64(thr1-thr0) / float64(per1-per0)
	}
	return p, nil
}

func startPool(ctx context.Context, e *expEnv, b budget, n int) (*pool, error) {
	pl := &pool{}
	for i := range n {
		p, err := startServer(ctx, fmt.Sprintf("securecached-%d", i), e.securecached, false, multiInstanceArgs, nil)
		if err != nil {
			pl.stop()
			return nil, err
		}
		pl.procs = append(pl.procs, p)
		pl.servers = append(pl.servers, client.ServerConfig{Addr: p.addr, Weight: 1, Trusted: true})
		if err := pl.budget(b, i, p.cmd.Process.Pid); err != nil {
			pl.stop()
			return nil, err
		}
	}
	return pl, nil
}

// throttleStats sums the budget periods of the pool's instances and those
// that used up their budget.
func (pl *pool) throttleStats() (periods, throttled int64, err error) {
	for _, g := range pl.groups {
		p, t, err := g.throttleStats()
		if err != nil {
			return 0, 0, err
		}
		periods, throttled = periods+p, throttled+t
	}
	return periods, throttled, nil
}

// stop ends the instances and removes their budgets.
func (pl *pool) stop() {
	for _, p := range pl.procs {
		p.stop()
	}
	for _, g := range pl.groups {
		_ = g.remove()
	}
}

// scaleRun loads the records over n instances, then runs YCSB-B with
// threads clients, one outstanding request each.
func scaleRun(ctx context.Context, e *expEnv, bud budget, n, records int, ops int64, threads int) (scalePoint, error) {
	pl, err := startPool(ctx, e, bud, n)
	if err != nil {
		return scalePoint{}, err
	}
	defer pl.stop()
	servers := pl.servers
	b := benchFlags{seed: e.seed, protocol: "binary", ciLevel: 0.96, timeout: 5 * time.Second, distrib: "ketama", noProgess: e.quiet}
	thesisWorkload(&b, records)
	b.props = append(b.props, "operationcount="+strconv.FormatInt(ops, 10))
	w, props, err := b.workloadFrom()
	if err != nil {
		return scalePoint{}, err
	}
	table := props.String("table", "usertable")
	if _, err := b.execute(ctx, w, table, ycsb.PhaseLoad, servers, 4, fmt.Sprintf("multi: load over %d", n)); err != nil {
		return scalePoint{}, err
	}
	return pl.measure(n, func() (*ycsb.Result, error) {
		return b.execute(ctx, w, table, ycsb.PhaseRun, servers, threads, fmt.Sprintf("multi: %d instances", n))
	})
}

// multiThreads is the YCSB model's client threads (one outstanding request
// each) per instance: enough that an instance's budget, not the round
// trip (which a throttled instance stretches to its budget's period),
// bounds it. The load grows with the instances, so each instance is
// measured under the same load: a machine added to a deployment along
// with its clients.
const multiThreads = 128

// multiKillThreads is the closed loop of the kill runs, as in earlier runs.
const multiKillThreads = 16

// The pipelined model's load: client agents in this process, each one
// YCSB client with a window of multiPipeWindow transactions per instance
// outstanding. The window grows with the instances so that each
// instance gets the same batches (window ÷ instances per socket) whatever
// their number: spreading a fixed window thins every batch, and it is
// batching that makes the pipelined model cheap per operation
// (EXPERIMENTS.md, multi).
const (
	multiPipeClients = 4
	multiPipeWindow  = 64
)

// pipeScaleRun is scaleRun in the pipelined model: n cache instances, each
// a process of its own (cacheChildMain) with a trusted cache agent, in its
// CPU budget, linked to this process's instance of client agents, which
// spread keys over them with the same ketama ring. Agent 0 preloads.
func pipeScaleRun(ctx context.Context, e *expEnv, bud budget, n, records int, ops int64) (scalePoint, error) {
	state, err := os.MkdirTemp("", "scbench-multi-")
	if err != nil {
		return scalePoint{}, err
	}
	defer os.RemoveAll(state)
	b := benchFlags{seed: e.seed, preload: true, protocol: "binary", ciLevel: 0.96, timeout: 5 * time.Second, distrib: "ketama", noProgess: e.quiet}
	thesisWorkload(&b, records)
	b.props = append(b.props, "operationcount="+strconv.FormatInt(ops, 10))
	w, props, err := b.workloadFrom()
	if err != nil {
		return scalePoint{}, err
	}
	cacheArgs := multiInstanceArgs[2:] // the memory limit; relays are the gateway's, and there is none
	s := experiments.Setup{Clients: multiPipeClients, Trusted: true, Window: multiPipeWindow * n, Caches: n,
		CacheArgs: cacheArgs, Timeout: b.timeout,
		Remote: &experiments.Remote{Instance: "ycsb", CacheInstance: cacheInstance, CacheTrusted: true,
			CacheArgs: cacheArgs, Listen: "127.0.0.1:0", StateDir: state}}
	bench, err := experiments.Start(s)
	if err != nil {
		return scalePoint{}, err
	}
	defer bench.Close()
	var procs []*cacheProc
	pl := &pool{}
	defer func() {
		for _, p := range procs {
			p.stop()
		}
		pl.stop()
	}()
	for i, inst := range s.CacheInstances() {
		l := layoutFile{
			Diggi: s.Remote.CacheConfigFor(inst),
			Trust: server.TrustOptions{Backend: server.BackendSim, StateDir: state},
			Cluster: &cluster.Config{Listen: "127.0.0.1:0", Seeds: []string{bench.LinkAddr()}, AllowSimulated: true,
				Peers: []diggi.Config{s.Config()}},
		}
		p, err := startCache(state, inst, l, e.cacheEnv, nil)
		if err != nil {
			return scalePoint{}, err
		}
		procs = append(procs, p)
		if err := pl.budget(bud, i, p.cmd.Process.Pid); err != nil {
			return scalePoint{}, err
		}
	}
	for _, p := range procs {
		if err := waitLinked(ctx, bench, p); err != nil {
			return scalePoint{}, err
		}
	}
	table := props.String("table", "usertable")
	if _, err := bench.Execute(ctx, w, ycsb.PhaseLoad, experiments.RunOptions{Table: table}); err != nil {
		return scalePoint{}, err
	}
	opts := experiments.RunOptions{PlanOptions: ycsb.PlanOptions{Seed: e.seed}, Table: table}
	if !e.quiet {
		opts.Progress = progressLine(os.Stderr, fmt.Sprintf("multi: pipelined, %d instances", n))
	}
	p, err := pl.measure(n, func() (*ycsb.Result, error) { return bench.Execute(ctx, w, ycsb.PhaseRun, opts) })
	p.pipelined = true
	return p, err
}

// killRun runs a closed loop of threads clients (95 % gets, 5 % sets of
// 1 KB values, uniform keys) over n instances for d, and kills instance 0
// with SIGKILL at d/3.
func killRun(ctx context.Context, e *expEnv, bud budget, n, records, threads int, d time.Duration, rehash bool) (failureRun, error) {
	pl, err := startPool(ctx, e, bud, n)
	if err != nil {
		return failureRun{}, err
	}
	defer pl.stop()
	procs, servers := pl.procs, pl.servers
	c, err := client.New(client.Config{Servers: servers, Timeout: time.Second, Rehash: rehash, MaxConnsPerServer: 2})
	if err != nil {
		return failureRun{}, err
	}
	defer c.Close()
	value := make([]byte, 1024)
	key := func(i int) string { return "user" + strconv.Itoa(i) }
	for i := range records {
		if err := c.Set(ctx, &client.Item{Key: key(i), Value: value}); err != nil {
			return failureRun{}, fmt.Errorf("preload: %w", err)
		}
	}
	// A key the killed instance owns, to see when the client routes it
	// elsewhere (rehash).
	probe := -1
	for i := range records {
		if s, _ := c.ServerFor(key(i)); s == servers[0].Addr {
			probe = i
			break
		}
	}
	if probe < 0 {
		return failureRun{}, errors.New("no key maps to the first instance")
	}

	const bucket = 100 * time.Millisecond
	nb := int(d / bucket)
	f := failureRun{rehash: rehash, instances: n, bucket: bucket, killAt: d / 3, stopAfter: -1,
		ok: make([]int64, nb), errs: make([]int64, nb)}
	ok, errs := make([]atomic.Int64, nb), make([]atomic.Int64, nb)
	var misses atomic.Int64
	var firstDead atomic.Int64 // ns since start of the first ErrServerDead after the kill; 0 = none
	start := time.Now()
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(e.seed, uint64(t)))
			for {
				el := time.Since(start)
				if el >= d || ctx.Err() != nil {
					return
				}
				k := key(rng.IntN(records))
				var err error
				if rng.IntN(100) < 5 {
					err = c.Set(ctx, &client.Item{Key: k, Value: value})
				} else {
					_, err = c.Get(ctx, k)
				}
				i := min(int(el/bucket), nb-1)
				switch {
				case err == nil:
					ok[i].Add(1)
				case errors.Is(err, client.ErrCacheMiss):
					ok[i].Add(1)
					select {
					case <-killed:
						misses.Add(1)
					default:
					}
				default:
					errs[i].Add(1)
					if errors.Is(err, client.ErrServerDead) {
						firstDead.CompareAndSwap(0, int64(time.Since(start)))
					}
				}
			}
		}()
	}
	time.Sleep(f.killAt - time.Since(start))
	if err := procs[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return f, err
	}
	killTime := time.Since(start)
	close(killed)
	if rehash {
		for time.Since(start) < d {
			if s, _ := c.ServerFor(key(probe)); s != servers[0].Addr {
				f.stopAfter = time.Since(start) - killTime
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	if !rehash {
		if fd := time.Duration(firstDead.Load()); fd > 0 {
			f.stopAfter = fd - killTime
		}
	}
	f.killAt = killTime
	f.misses = misses.Load()
	var beforeOps, afterOps int64
	recovered := killTime + max(f.stopAfter, 0)
	for i := range nb {
		f.ok[i], f.errs[i] = ok[i].Load(), errs[i].Load()
		at := time.Duration(i) * bucket
		if at+bucket <= killTime {
			beforeOps += f.ok[i]
		}
		if at >= killTime {
			f.errsAfter += f.errs[i]
		}
		if at >= recovered {
			afterOps += f.ok[i]
		}
	}
	f.before = float64(beforeOps) / (killTime.Truncate(bucket)).Seconds()
	if rest := d - recovered.Truncate(bucket) - bucket; rest > 0 {
		f.after = float64(afterOps) / rest.Seconds()
	}
	return f, nil
}

func writeMultiCSV(w io.Writer, scaling []scalePoint, failures []failureRun) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"part", "instances", "rehash", "t_s", "ops_s", "errors", "model"})
	for _, p := range scaling {
		_ = cw.Write([]string{"scaling", strconv.Itoa(p.instances), "", "", strconv.FormatFloat(p.opsPerSec, 'f', 0, 64), strconv.FormatInt(p.errors, 10), p.model()})
	}
	for _, f := range failures {
		for i := range f.ok {
			t := (time.Duration(i) * f.bucket).Seconds()
			_ = cw.Write([]string{"failure", strconv.Itoa(f.instances), strconv.FormatBool(f.rehash),
				strconv.FormatFloat(t, 'f', 1, 64), strconv.FormatFloat(float64(f.ok[i])/f.bucket.Seconds(), 'f', 0, 64),
				strconv.FormatInt(f.errs[i], 10), "ycsb"})
		}
	}
	cw.Flush()
	return cw.Error()
}

// plotMulti draws throughput against instances on top, and throughput over
// time around the kill below, one line per client mode.
func plotMulti(w io.Writer, bud budget, scaling []scalePoint, failures []failureRun) error {
	sc := plot.New()
	sc.Title.Text = "Cache instances behind the ketama client (YCSB-B, 1 KB; no CPU budget)"
	if bud.cores > 0 {
		sc.Title.Text = fmt.Sprintf("Cache instances behind the ketama client (YCSB-B, 1 KB; %.2g core each)", bud.cores)
	}
	sc.X.Label.Text = "Instances"
	sc.Y.Label.Text = "Throughput (K ops/s)"
	sc.X.Tick.Marker = integerTicks{}
	sc.Add(plotter.NewGrid())
	sc.Legend.Top, sc.Legend.Left = true, true
	maxThr, maxN := 0.0, 1
	for i, model := range []string{"ycsb", "pipelined"} {
		var pts plotter.XYs
		for _, p := range scaling {
			if p.model() == model {
				pts = append(pts, plotter.XY{X: float64(p.instances), Y: p.opsPerSec / 1000})
				maxThr, maxN = max(maxThr, p.opsPerSec/1000), max(maxN, p.instances)
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		line.Color, points.Color = seriesColors[i], seriesColors[i]
		points.Shape = draw.CircleGlyph{}
		sc.Add(line, points)
		name := fmt.Sprintf("YCSB model over TCP (%d threads per instance)", multiThreads)
		if model == "pipelined" {
			name = fmt.Sprintf("pipelined over Diggi (%d agents, window %d per instance)", multiPipeClients, multiPipeWindow)
		}
		sc.Legend.Add(name, line, points)
	}
	sc.X.Min, sc.X.Max, sc.Y.Min, sc.Y.Max = 0.5, float64(maxN)+0.5, 0, 1.4*maxThr

	tl := plot.New()
	tl.Title.Text = "One instance killed (SIGKILL) at the dashed line"
	tl.X.Label.Text = "Time (s)"
	tl.Y.Label.Text = "Throughput (K ops/s)"
	tl.Add(plotter.NewGrid())
	tl.Legend.Top = true
	maxY := 0.0
	for i, f := range failures {
		xy := make(plotter.XYs, len(f.ok))
		for j := range f.ok {
			y := float64(f.ok[j]) / f.bucket.Seconds() / 1000
			xy[j] = plotter.XY{X: (time.Duration(j) * f.bucket).Seconds(), Y: y}
			maxY = max(maxY, y)
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = seriesColors[(i+1)%len(seriesColors)]
		l.Width = vg.Points(1.5)
		tl.Add(l)
		name := "client without rehash"
		if f.rehash {
			name = "client with rehash"
		}
		tl.Legend.Add(name, l)
	}
	if len(failures) > 0 {
		k := failures[0].killAt.Seconds()
		kl, err := plotter.NewLine(plotter.XYs{{X: k, Y: 0}, {X: k, Y: 1.3 * maxY}})
		if err != nil {
			return err
		}
		kl.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		tl.Add(kl)
	}
	tl.Y.Min, tl.Y.Max = 0, 1.3*maxY

	return writeStacked(w, sc, tl)
}
