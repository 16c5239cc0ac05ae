package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/experiments"
	"github.com/securecached/securecached/internal/netns"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/ycsb"
)

// table51 are the round trips between the thesis's server and its four
// client machines (Table 5.1).
var table51 = []time.Duration{380 * time.Microsecond, 369 * time.Microsecond, 475 * time.Microsecond, 461 * time.Microsecond}

// fig55PerMachine is how many client agents each machine's instance holds:
// 12 clients on four machines.
const fig55PerMachine = 3

// hostSpec is what a client-host child runs (clientHostMain): one Diggi
// instance with YCSB client agents, linked to the cache's instance.
type hostSpec struct {
	Instance string   `json:"instance"`
	Listen   string   `json:"listen"`
	Seeds    []string `json:"seeds"`
	StateDir string   `json:"state_dir"`
	Agents   int      `json:"agents"`
	Window   int      `json:"window"`
}

// setup is the bench of a client host; the cache's layout lists its
// Config among its peers.
func (h hostSpec) setup() experiments.Setup {
	return experiments.Setup{Clients: h.Agents, Trusted: true, Window: h.Window, Timeout: 5 * time.Second,
		Remote: &experiments.Remote{Instance: h.Instance, CacheInstance: cacheInstance, CacheTrusted: true,
			CacheArgs: fig55CacheArgs, Listen: h.Listen, Seeds: h.Seeds, StateDir: h.StateDir}}
}

var fig55CacheArgs = []string{"-m", "1024"}

// hostCmd is one phase a client host runs; hostReply its outcome.
type hostCmd struct {
	Phase   string `json:"phase"` // "load" or "run"
	Agents  int    `json:"agents"`
	Records int    `json:"records"`
	Ops     int64  `json:"ops"`
	Seed    uint64 `json:"seed"`
}

type hostReply struct {
	Error     string  `json:"error,omitempty"`
	Ops       int64   `json:"ops"`
	SlowestS  float64 `json:"slowest_s"` // the slowest client's time
	MeanUs    float64 `json:"mean_us"`
	CIUs      float64 `json:"ci_us"`
	P99Us     int64   `json:"p99_us"`
	Errors    int64   `json:"errors"`
	OpsPerSec float64 `json:"ops_s"`
	Cost      cost    `json:"cost"` // the client host's process over the phase
}

const clientHostEnv = "SCBENCH_CLIENT_HOST"

// clientHostMain runs, in a child of this binary inside a namespace, the
// client host its environment describes: it prints "ready" once the cache
// agent is linked, then runs one hostCmd per line of standard input and
// answers each with a hostReply line, until standard input ends. It never
// returns.
func clientHostMain() {
	raw := os.Getenv(clientHostEnv)
	if raw == "" {
		return
	}
	// A client host is a load generator, a machine of its own in the
	// thesis. With one P its goroutines hand a request on (client agent,
	// socket, mover, link writer, and back) without waking a second
	// thread for each hand-off; its CPU per operation falls by a fifth
	// (bench/RESULTS.md, 2026-12-08). GOMAXPROCS in the environment wins.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	err := func() error {
		var h hostSpec
		if err := json.Unmarshal([]byte(raw), &h); err != nil {
			return err
		}
		bench, err := experiments.Start(h.setup())
		if err != nil {
			return err
		}
		defer bench.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err = bench.WaitCache(ctx)
		cancel()
		if err != nil {
			return err
		}
		out := json.NewEncoder(os.Stdout)
		fmt.Println("ready")
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			var c hostCmd
			if err := json.Unmarshal(in.Bytes(), &c); err != nil {
				return err
			}
			if err := out.Encode(runHostCmd(bench, c)); err != nil {
				return err
			}
		}
		return in.Err()
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scbench client host:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runHostCmd(bench *experiments.Bench, c hostCmd) hostReply {
	b := benchFlags{seed: c.Seed, protocol: "binary"}
	thesisWorkload(&b, c.Records)
	w, props, err := b.workloadFrom()
	if err != nil {
		return hostReply{Error: err.Error()}
	}
	phase := ycsb.PhaseRun
	if c.Phase == "load" {
		phase = ycsb.PhaseLoad
	} else {
		w.OperationCount = c.Ops
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	u0 := selfUsage()
	res, err := bench.Execute(ctx, w, phase, experiments.RunOptions{Agents: c.Agents, Table: props.String("table", "usertable"),
		PlanOptions: ycsb.PlanOptions{Seed: c.Seed, SliceKeys: true}})
	if err != nil {
		return hostReply{Error: err.Error()}
	}
	r := hostReply{Ops: res.Overall.Count, MeanUs: res.Overall.Mean(), CIUs: res.Overall.CI(0.96),
		P99Us: res.Overall.Hist.ValueAtQuantile(99), Errors: res.Overall.Errors(), OpsPerSec: res.ThesisThroughput(),
		Cost: selfUsage().sub(u0)}
	for _, t := range res.ClientTimes {
		r.SlowestS = max(r.SlowestS, t.Seconds())
	}
	return r
}

// hostGODEBUG is the GODEBUG a client host runs with: the caller's, plus
// schedtrace at its largest period (2^31-1 ms, 24.8 days). Why: a client
// host in YCSB's model idles between a request and its reply, and each
// time the runtime's monitor thread (sysmon) goes into a deep sleep that
// the host's next system call has to end with a futex wake-up, after
// which sysmon polls every 20 us until the host idles again. With
// schedtrace set, sysmon never sleeps deeply and backs off to 10 ms
// while nothing needs it: the host's CPU per operation falls by a
// quarter and its context switches by half (bench/RESULTS.md,
// 2026-12-08). The trace itself is printed only when the machine's
// monotonic clock passes the period, once after 24.8 days of uptime.
func hostGODEBUG() string {
	const st = "schedtrace=2147483647"
	if v := os.Getenv("GODEBUG"); v != "" {
		return "GODEBUG=" + v + "," + st
	}
	return "GODEBUG=" + st
}

// fig55CacheEnv is the runtime the cache instance of Figs. 5.5/5.6 runs
// with, before --cache-env (which wins): one P and sysmon kept out of its
// deep sleep, as the client hosts (hostGODEBUG). Why: in YCSB's model
// the cache idles between requests, so each request paid a futex wake-up
// of a second thread per hand-off between goroutines and one of sysmon;
// with these two the cache's CPU per operation at 12 clients fell from
// 29-36 to 17-18 us and its switches from 1.7-2.0 to 0.4 (bench/RESULTS.md,
// 2026-12-08). This is a choice of the experiment's layout, like the
// hosts' settings; securecached's own default (every processor) is
// unchanged. GOMAXPROCS in this process's environment wins.
func fig55CacheEnv() []string {
	env := []string{hostGODEBUG()}
	if os.Getenv("GOMAXPROCS") == "" {
		env = append(env, "GOMAXPROCS=1")
	}
	return env
}

// hostProc is a client-host child and its command pipe.
type hostProc struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	done chan error
}

func startHost(cmd *exec.Cmd, name string, h hostSpec) (*hostProc, error) {
	spec, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(os.Environ(), clientHostEnv+"="+string(spec), hostGODEBUG())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &hostProc{name: name, cmd: cmd, done: make(chan error, 1)}
	if p.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewScanner(stdout)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// line reads the child's next line within d; on a timeout the child is
// killed (its pipe then ends).
func (p *hostProc) line(d time.Duration) (string, error) {
	t := time.AfterFunc(d, func() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) })
	defer t.Stop()
	if !p.out.Scan() {
		return "", fmt.Errorf("client host %s ended: %v", p.name, p.out.Err())
	}
	return p.out.Text(), nil
}

func (p *hostProc) do(c hostCmd, d time.Duration) (hostReply, error) {
	b, _ := json.Marshal(c)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return hostReply{}, fmt.Errorf("client host %s: %w", p.name, err)
	}
	l, err := p.line(d)
	if err != nil {
		return hostReply{}, err
	}
	var r hostReply
	if err := json.Unmarshal([]byte(l), &r); err != nil {
		return r, fmt.Errorf("client host %s: %q: %w", p.name, l, err)
	}
	if r.Error != "" {
		return r, fmt.Errorf("client host %s: %s", p.name, r.Error)
	}
	return r, nil
}

// stop closes the child's input (it closes its bench and exits), killing
// it after 5 s.
func (p *hostProc) stop() {
	p.in.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// fig55Layout is the cache's layout on the server host and the client
// hosts of the machines (link port 7100 on each), in one client model.
func fig55Layout(server string, machines []string, state string, window int) (layoutFile, []hostSpec) {
	cacheLink := server + ":7100"
	var specs []hostSpec
	var peers []diggi.Config
	for i, addr := range machines {
		h := hostSpec{Instance: "m" + strconv.Itoa(i+1), Listen: addr + ":7100", Seeds: []string{cacheLink}, StateDir: state,
			Agents: fig55PerMachine, Window: window}
		specs = append(specs, h)
		peers = append(peers, h.setup().Config())
	}
	return cacheLayout(specs[0].setup().Remote, cacheLink, nil, peers...), specs
}

// fig55Row is one machine's share of one point (machine "all": the total).
type fig55Row struct {
	model   string
	clients int
	machine string
	agents  int
	rttMs   float64
	reply   hostReply
	boundS  float64 // the YCSB model's bound: agents ÷ RTT, ops/s
	// cost of the point (machine "all" only): the client hosts, the
	// cache's process and this one (the wire), over the run phase; and
	// the same by process: the cache's, the wire's, the hosts' together
	cost                  cost
	cache, wire, hostsSum cost
	net                   netns.Stats // what the wire carried over the point
}

// runFig55 is Figures 5.5 and 5.6: one trusted cache agent on a "server"
// host, YCSB client agents added one at a time, round-robin, on four
// emulated machines with Table 5.1's round trips (network namespaces
// joined by internal/netns's user-space wire: this kernel has no netem),
// up to 12; mean latency per machine (5.5) and throughput in total and per
// machine (5.6), in both client models. Each machine is a Diggi instance
// in a process of its own, linked to the cache's instance.
func runFig55(ctx context.Context, e *expEnv) (map[string]any, error) {
	maxClients, ops, records := 4*fig55PerMachine, int64(4_000), 10_000
	if e.short {
		maxClients, ops, records = 4, 300, 1_000
	}
	if e.ops > 0 {
		ops = e.ops
	}
	// The pipelined model runs five times as many operations: at 300K
	// ops/s, 4 000 per agent were gone in 0.05-0.2 s, short enough for
	// one burst of the machine's other work to decide a point.
	pipeOps := ops
	if !e.short {
		pipeOps = 5 * ops
	}
	hosts := []netns.Host{{Name: "server"}}
	for i, rtt := range table51 {
		hosts = append(hosts, netns.Host{Name: "m" + strconv.Itoa(i+1), Delay: rtt})
	}
	n, err := netns.New(hosts...)
	if err != nil {
		return nil, fmt.Errorf("fig5.5 needs network namespaces (root): %w", err)
	}
	defer n.Close()
	state, err := os.MkdirTemp("", "scbench-fig55-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(state)
	// The sim platform the five processes share, made before they start
	// so that none races another to create it.
	root, err := trust.LoadOrCreateSimRoot(state)
	if err != nil {
		return nil, err
	}
	if _, err := trust.LoadOrCreatePlatform(state, root); err != nil {
		return nil, err
	}
	wire, err := wireRTTs(ctx, n, 200)
	if err != nil {
		return nil, err
	}
	var rows []fig55Row
	for _, window := range []int{0, remoteWindow} {
		modelOps := ops
		if window > 0 {
			modelOps = pipeOps
		}
		r, err := fig55Model(ctx, e, n, state, window, maxClients, modelOps, records)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	if err := writeFile(e.path("fig5.5", "csv"), func(w io.Writer) error { return writeFig55CSV(w, rows) }); err != nil {
		return nil, err
	}
	lat, thr := fig55Series(rows)
	title := fmt.Sprintf("Fig. 5.5: one cache agent, clients on 4 machines (RTT 0.369-0.475 ms), %d ops per client (pipelined %d)", ops, pipeOps)
	if err := writeFile(e.path("fig5.5", "png"), func(w io.Writer) error { return plotSweep(w, title, lat, 0.96) }); err != nil {
		return nil, err
	}
	title = "Fig. 5.6: throughput in total and per machine, one cache agent, 4 machines"
	if err := writeFile(e.path("fig5.6", "png"), func(w io.Writer) error { return plotSweep(w, title, thr, 0.96) }); err != nil {
		return nil, err
	}
	head := map[string]any{"thesis_ops_s": 16_000, "thesis_note": "12 clients on 4 machines, SGX, YCSB model", "rtt_ms": []float64{0.380, 0.369, 0.475, 0.461},
		"cores": runtime.NumCPU()}
	for _, r := range rows {
		if r.machine != "all" || r.clients != maxClients {
			continue
		}
		head[r.model+"_ops_s"] = round(r.reply.OpsPerSec)
		head[r.model+"_bound_ops_s"] = round(r.boundS)
		head[r.model+"_of_bound"] = r.reply.OpsPerSec / r.boundS
		head[r.model+"_mean_us"] = r.reply.MeanUs
		head[r.model+"_cpu_us_per_op"], head[r.model+"_switches_per_op"] = r.cost.perOp(r.reply.Ops)
		// The two bounds side by side: which one limits the run.
		head[r.model+"_cpu_bound_ops_s"] = round(r.cpuBound())
		if r.model == "ycsb" {
			head["ycsb_limited_by"] = "latency"
			if r.cpuBound() < r.boundS {
				head["ycsb_limited_by"] = "cpu"
			}
			// What 0.8 of the latency bound would need: the CPU per
			// operation at which the machine's cores, wholly given to
			// the experiment, carry that throughput.
			head["ycsb_cpu_us_per_op_for_80pct_of_bound"] = float64(runtime.NumCPU()) * 1e6 / (0.8 * r.boundS)
		}
		for part, u := range map[string]cost{"cache": r.cache, "wire": r.wire, "hosts": r.hostsSum} {
			head[r.model+"_"+part+"_cpu_us_per_op"], head[r.model+"_"+part+"_switches_per_op"] = u.perOp(r.reply.Ops)
		}
		pk := r.netPerOp()
		head[r.model+"_wire_packets_per_op"], head[r.model+"_wire_acks_per_op"] = pk[0], pk[1]
		head[r.model+"_wire_sleeps_per_op"], head[r.model+"_wire_polls_per_op"] = pk[2], pk[3]
		head["clients"] = r.clients
	}
	var errs int64
	wireBound := 0.0
	for _, r := range rows {
		if r.machine == "all" {
			errs += r.reply.Errors
			// Packets the wire lost over all of the model's points: each
			// may have cost a retransmission timeout.
			d, _ := head[r.model+"_wire_drops"].(uint64)
			head[r.model+"_wire_drops"] = d + r.net.Drops
		}
	}
	for i, d := range wire {
		head[fmt.Sprintf("m%d_wire_rtt_p50_ms", i+1)] = d.Seconds() * 1000
	}
	for k := range maxClients {
		wireBound += 1 / wire[k%len(wire)].Seconds()
	}
	// The bound with the round trips the emulated wire really gives on
	// this machine now (a TCP ping-pong between the same hosts), beside
	// Table 5.1's.
	head["ycsb_wire_bound_ops_s"] = round(wireBound)
	if v, ok := head["ycsb_ops_s"].(float64); ok {
		head["ycsb_of_wire_bound"] = v / wireBound
	}
	head["errors"] = errs
	return head, nil
}

// fig55Model runs one client model: a cache instance on "server", one
// client host per machine, the records loaded by machine 1's agent 0, then
// 1..maxClients clients, each point's agents started on their machines at
// once.
func fig55Model(ctx context.Context, e *expEnv, n *netns.Net, state string, window, maxClients int, ops int64, records int) ([]fig55Row, error) {
	model := "ycsb"
	if window > 0 {
		model = fmt.Sprintf("pipelined_w%d", window)
	}
	var addrs []string
	for i := range table51 {
		addrs = append(addrs, n.Addr("m"+strconv.Itoa(i+1)))
	}
	layout, specs := fig55Layout(n.Addr("server"), addrs, state, window)
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cache, err := startCache(state, cacheInstance+"-"+model, layout, append(fig55CacheEnv(), e.cacheEnv...),
		func(name string, args ...string) *exec.Cmd { return n.Command(ctx, "server", name, args...) })
	if err != nil {
		return nil, err
	}
	defer cache.stop()
	var procs []*hostProc
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for _, h := range specs {
		p, err := startHost(n.Command(ctx, h.Instance, exe), h.Instance, h)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if l, err := p.line(90 * time.Second); err != nil || l != "ready" {
			return nil, fmt.Errorf("client host %s: %q, %v", p.name, l, err)
		}
	}
	if _, err := procs[0].do(hostCmd{Phase: "load", Agents: 1, Records: records, Seed: e.seed}, 5*time.Minute); err != nil {
		return nil, fmt.Errorf("preload: %w", err)
	}
	var rows []fig55Row
	for c := max(e.minClients, 1); c <= maxClients; c++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		replies := make([]hostReply, len(procs))
		agents := make([]int, len(procs))
		for k := range c {
			agents[k%len(procs)]++
		}
		errs := make([]error, len(procs))
		cache0, err := procUsage(cache.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		wire0, net0 := selfUsage(), n.Stats()
		var wg sync.WaitGroup
		for i, p := range procs {
			if agents[i] == 0 {
				continue
			}
			wg.Go(func() {
				replies[i], errs[i] = p.do(hostCmd{Phase: "run", Agents: agents[i], Records: records,
					Ops: ops * int64(agents[i]), Seed: e.seed + uint64(c*16+i)}, 5*time.Minute)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("%s, %d clients: %w", model, c, err)
		}
		// This process is the wire, and nothing else while a point runs.
		wire1, net1 := selfUsage(), n.Stats()
		cache1, err := procUsage(cache.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		total := fig55Row{model: model, clients: c, machine: "all", agents: c, cache: cache1.sub(cache0), wire: wire1.sub(wire0)}
		total.cost = total.cache.add(total.wire)
		total.net = netns.Stats{Packets: net1.Packets - net0.Packets, Acks: net1.Acks - net0.Acks, Bytes: net1.Bytes - net0.Bytes,
			Sleeps: net1.Sleeps - net0.Sleeps, Polls: net1.Polls - net0.Polls, Drops: net1.Drops - net0.Drops}
		var latSum float64
		for i := range procs {
			if agents[i] == 0 {
				continue
			}
			rtt := table51[i].Seconds() * 1000
			row := fig55Row{model: model, clients: c, machine: procs[i].name, agents: agents[i], rttMs: rtt,
				reply: replies[i], boundS: float64(agents[i]) / table51[i].Seconds()}
			rows = append(rows, row)
			total.reply.Ops += row.reply.Ops
			total.cost = total.cost.add(row.reply.Cost)
			total.hostsSum = total.hostsSum.add(row.reply.Cost)
			total.reply.Errors += row.reply.Errors
			total.reply.SlowestS = max(total.reply.SlowestS, row.reply.SlowestS)
			total.boundS += row.boundS
			latSum += row.reply.MeanUs * float64(row.reply.Ops)
		}
		if total.reply.SlowestS > 0 {
			total.reply.OpsPerSec = float64(total.reply.Ops) / total.reply.SlowestS
		}
		if total.reply.Ops > 0 {
			total.reply.MeanUs = latSum / float64(total.reply.Ops)
		}
		rows = append(rows, total)
		if !e.quiet {
			cpu, sw := total.cost.perOp(total.reply.Ops)
			cc, _ := total.cache.perOp(total.reply.Ops)
			wc, _ := total.wire.perOp(total.reply.Ops)
			hc, _ := total.hostsSum.perOp(total.reply.Ops)
			pk := total.netPerOp()
			fmt.Fprintf(e.stderr, "fig5.5 %s: %2d clients: %8.0f ops/s (YCSB bound %8.0f, CPU bound %8.0f), mean %6.0f us, %.1f us CPU (cache %.1f, wire %.1f, hosts %.1f) and %.2f switches per op; per op the wire moved %.2f packets (%.2f pure ACKs), slept %.2f times and polled %.2f, and lost %d packets\n",
				model, c, total.reply.OpsPerSec, total.boundS, total.cpuBound(), total.reply.MeanUs, cpu, cc, wc, hc, sw, pk[0], pk[1], pk[2], pk[3], total.net.Drops)
		}
	}
	return rows, nil
}

func writeFig55CSV(w io.Writer, rows []fig55Row) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"model", "clients", "machine", "agents", "rtt_ms", "ops", "throughput_ops_sec", "mean_latency_us", "ci_half_width_us", "p99_us", "errors", "ycsb_bound_ops_sec", "cpu_bound_ops_sec", "cpu_us_per_op", "switches_per_op",
		"cache_cpu_us_per_op", "cache_switches_per_op", "wire_cpu_us_per_op", "wire_switches_per_op", "hosts_cpu_us_per_op", "hosts_switches_per_op",
		"wire_packets_per_op", "wire_acks_per_op", "wire_sleeps_per_op", "wire_polls_per_op", "wire_drops"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for _, r := range rows {
		// Costs per operation of the point, in total and by process
		// (the "all" row), or of the machine's own process per its own
		// operations (a machine's row).
		var costs []string
		for _, u := range []cost{r.cost, r.cache, r.wire, r.hostsSum} {
			c, s := "", ""
			if r.machine == "all" {
				cu, su := u.perOp(r.reply.Ops)
				c, s = f(cu), strconv.FormatFloat(su, 'f', 2, 64)
			}
			costs = append(costs, c, s)
		}
		for _, v := range r.netPerOp() {
			if r.machine == "all" {
				costs = append(costs, strconv.FormatFloat(v, 'f', 2, 64))
			} else {
				costs = append(costs, "")
			}
		}
		if r.machine == "all" {
			costs = append(costs, strconv.FormatUint(r.net.Drops, 10))
		} else {
			costs = append(costs, "")
		}
		cpuBound := ""
		if r.machine == "all" {
			cpuBound = f(r.cpuBound())
		}
		if r.machine != "all" {
			cu, su := r.reply.Cost.perOp(r.reply.Ops)
			costs[0], costs[1] = f(cu), strconv.FormatFloat(su, 'f', 2, 64)
		}
		_ = cw.Write(append([]string{r.model, strconv.Itoa(r.clients), r.machine, strconv.Itoa(r.agents), f(r.rttMs),
			strconv.FormatInt(r.reply.Ops, 10), f(r.reply.OpsPerSec), f(r.reply.MeanUs), f(r.reply.CIUs),
			strconv.FormatInt(r.reply.P99Us, 10), strconv.FormatInt(r.reply.Errors, 10), f(r.boundS), cpuBound}, costs...))
	}
	cw.Flush()
	return cw.Error()
}

// cpuBound is the throughput the machine's cores could carry at the
// point's measured CPU per operation (every process of the experiment,
// "all" rows only): cores × 1 s ÷ CPU per operation. The YCSB model is
// bounded by it as well as by its clients ÷ RTT; on a shared machine the
// cores are not all the experiment's, so it is an upper bound only.
func (r fig55Row) cpuBound() float64 {
	us, _ := r.cost.perOp(r.reply.Ops)
	if r.machine != "all" || us <= 0 {
		return 0
	}
	return float64(runtime.NumCPU()) * 1e6 / us
}

// netPerOp is what the wire did per operation of the point: packets,
// pure ACKs among them, the wire thread's blocking waits and its polls.
func (r fig55Row) netPerOp() [4]float64 {
	if r.reply.Ops <= 0 {
		return [4]float64{}
	}
	ops := float64(r.reply.Ops)
	return [4]float64{float64(r.net.Packets) / ops, float64(r.net.Acks) / ops, float64(r.net.Sleeps) / ops, float64(r.net.Polls) / ops}
}

// fig55Series are the two figures' lines: mean latency per machine in
// YCSB's model and the pipelined model's mean over all machines (5.5);
// throughput in total and per machine in YCSB's model, and the pipelined
// model's total (5.6). The pipelined model per machine is in the CSV.
func fig55Series(rows []fig55Row) (lat, thr []series) {
	idx := map[string]int{}
	add := func(to *[]series, name string, p point) {
		k := fmt.Sprintf("%p/%s", to, name)
		i, ok := idx[k]
		if !ok {
			i = len(*to)
			idx[k] = i
			*to = append(*to, series{name: name})
		}
		(*to)[i].points = append((*to)[i].points, p)
	}
	for _, r := range rows {
		p := point{clients: r.clients, throughput: r.reply.OpsPerSec, meanUs: r.reply.MeanUs, ciUs: r.reply.CIUs,
			p99Us: r.reply.P99Us, errors: r.reply.Errors}
		name := r.model + ", " + r.machine
		if r.machine == "all" {
			name = r.model + ", all machines"
		}
		ycsbModel := r.model == "ycsb"
		if ycsbModel != (r.machine == "all") {
			add(&lat, name, p)
		}
		if ycsbModel || r.machine == "all" {
			add(&thr, name, p)
		}
	}
	return lat, thr
}

// wireRTTs measures each client machine's round trip to "server" over the
// emulated wire: the median of count TCP ping-pongs of 64 bytes.
func wireRTTs(ctx context.Context, n *netns.Net, count int) ([]time.Duration, error) {
	ln, err := n.Listen("server", "tcp", n.Addr("server")+":7200")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	var out []time.Duration
	for i := range table51 {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := n.DialContext(dctx, "m"+strconv.Itoa(i+1), "tcp", n.Addr("server")+":7200")
		cancel()
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 64)
		rtts := make([]time.Duration, 0, count)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		for range count {
			t := time.Now()
			if _, err := c.Write(buf); err != nil {
				c.Close()
				return nil, err
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				c.Close()
				return nil, err
			}
			rtts = append(rtts, time.Since(t))
		}
		c.Close()
		slices.Sort(rtts)
		out = append(out, rtts[len(rtts)/2])
	}
	return out, nil
}
