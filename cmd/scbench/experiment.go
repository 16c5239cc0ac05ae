package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// An experiment reproduces one figure of the thesis's chapter 5, or goes
// beyond it, and writes OUT/NAME.csv and OUT/NAME.png. What it returns is
// its headline numbers, kept under its name in OUT/summary.json.
type experiment struct {
	name  string
	about string
	run   func(ctx context.Context, e *expEnv) (headline map[string]any, err error)
}

// experimentList is every experiment, in the order "all" runs them.
// fig5.4 (exceeding SGX's EPC) is not here: it cannot be reproduced without
// SGX hardware, and EXPERIMENTS.md says why instead of faking a paging cost.
var experimentList = []experiment{
	{"fig5.1", "in process: one cache agent, 1-6 YCSB client agents, trusted, both client models", runFig51},
	{"multi", "1, 2 and 4 cache instances behind the ketama client; then one killed mid-run, with and without rehash", runMulti},
	{"fig5.3", "inter-process: a cache process and 1-5 YCSB client agents in this process's instance, over an attested link", runFig53},
	{"fig5.5", "Figs. 5.5, 5.6: one cache agent, 1-12 YCSB client agents on four emulated machines (root; Table 5.1 RTTs)", runFig55},
	{"fig5.2", "agents of two instances in two network namespaces (root): throughput against iperf3, round trips, latency", runFig52},
}

// expEnv is what every experiment gets.
type expEnv struct {
	out          string // directory for NAME.csv, NAME.png and summary.json
	short        bool   // seconds instead of minutes, for CI
	seed         uint64
	securecached string // the server binary, for experiments that start instances
	stderr       io.Writer
	quiet        bool     // no live progress lines
	budget       float64  // multi: each instance's CPU budget in cores; 0 shares the machine
	minClients   int      // fig5.5: the sweep's first point (1: all of them)
	ops          int64    // fig5.5: operations per client agent and point (0: the default)
	cacheEnv     []string // KEY=VALUE added to the environment of every cache instance started
}

func (e *expEnv) path(name, ext string) string { return filepath.Join(e.out, name+"."+ext) }

func runExperiment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("experiment", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory for NAME.csv, NAME.png and summary.json (created if missing)")
	short := fs.Bool("short", false, "a short run of each experiment (seconds), as CI runs them")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	bin := fs.String("securecached", "", "securecached binary for experiments that start instances (default: built from this module)")
	quiet := fs.Bool("no-progress", false, "never print the live progress line")
	budget := fs.Float64("cpu-budget", multiCoresPerInstance, "multi: each instance's CPU budget in cores (a cgroup quota; root); 0 = none, instances and load generator share the machine")
	minClients := fs.Int("min-clients", 1, "fig5.5: the first point of the sweep (12: only the last, for comparing builds)")
	ops := fs.Int64("ops", 0, "fig5.5: operations per client agent at each point (default 4000; 300 with --short); the pipelined model runs 5 times as many, except with --short")
	cacheEnv := fs.StringArray("cache-env", nil, "KEY=VALUE added to the environment of the cache instances that fig5.3, fig5.5 and multi start (repeatable), e.g. GOMAXPROCS=1")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scbench experiment NAME|all --out DIR [--short]")
		for _, x := range experimentList {
			fmt.Fprintf(stderr, "  %-8s %s\n", x.name, x.about)
		}
		fs.PrintDefaults()
	}
	if done, err := parseFlags(fs, args); done {
		return err
	}
	for _, kv := range *cacheEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("%w: --cache-env %q: want KEY=VALUE", errUsage, kv)
		}
	}
	if fs.NArg() != 1 || *out == "" {
		fs.Usage()
		return fmt.Errorf("%w: experiment takes one NAME (or all) and --out", errUsage)
	}
	var run []experiment
	for _, x := range experimentList {
		if fs.Arg(0) == "all" || fs.Arg(0) == x.name {
			run = append(run, x)
		}
	}
	if len(run) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: no experiment %q", errUsage, fs.Arg(0))
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	e := &expEnv{out: *out, short: *short, seed: *seed, securecached: *bin, stderr: stderr, quiet: *quiet, budget: *budget, minClients: *minClients, ops: *ops, cacheEnv: *cacheEnv}
	if e.securecached == "" {
		path, cleanup, err := buildSecurecached(ctx)
		if err != nil {
			return err
		}
		defer cleanup()
		e.securecached = path
	}
	for _, x := range run {
		start := time.Now()
		fmt.Fprintf(stdout, "== %s: %s\n", x.name, x.about)
		head, err := x.run(ctx, e)
		if err != nil {
			return fmt.Errorf("experiment %s: %w", x.name, err)
		}
		head["seconds"] = time.Since(start).Round(time.Second).Seconds()
		head["short"] = e.short
		if len(e.cacheEnv) > 0 {
			head["cache_env"] = e.cacheEnv
		}
		if err := mergeSummary(e.path("summary", "json"), x.name, head); err != nil {
			return err
		}
		keys := make([]string, 0, len(head))
		for k := range head {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "   %s: %v\n", k, head[k])
		}
		fmt.Fprintf(stdout, "   wrote %s and %s\n", e.path(x.name, "csv"), e.path(x.name, "png"))
	}
	return nil
}

// mergeSummary sets summary.json's entry for name, keeping the others, so
// experiments run one at a time still build one summary.
func mergeSummary(path, name string, head map[string]any) error {
	all := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &all); err != nil {
			return fmt.Errorf("%s: %w (remove it to start a new summary)", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	all[name] = head
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// buildSecurecached builds cmd/securecached of the module scbench is run
// from into a temporary directory.
func buildSecurecached(ctx context.Context) (string, func(), error) {
	dir, err := os.MkdirTemp("", "scbench-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	path := filepath.Join(dir, "securecached")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "github.com/securecached/securecached/cmd/securecached")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("building securecached (or pass --securecached PATH): %v\n%s", err, out)
	}
	return path, cleanup, nil
}

// thesisWorkload is the thesis's YCSB-B with 1 KB values (§5.1.1), built
// from properties so an experiment does not depend on the working
// directory.
func thesisWorkload(b *benchFlags, records int) {
	b.props = append(b.props,
		"recordcount="+fmt.Sprint(records), "fieldcount=1", "fieldlength=1024", "readallfields=true",
		"readproportion=0.95", "updateproportion=0.05", "scanproportion=0", "insertproportion=0",
		"requestdistribution=zipfian")
}

// runFig51 is Figure 5.1: one trusted cache agent and 1-6 trusted YCSB
// client agents in one Diggi instance, over Diggi sockets, in YCSB's model
// (one outstanding request per client) and the pipelined model. Agent 0
// preloads, then starts the others; the key space is sliced (§5.5).
func runFig51(ctx context.Context, e *expEnv) (map[string]any, error) {
	counts, ops := []int{1, 2, 3, 4, 5, 6}, int64(50_000)
	if e.short {
		counts, ops = []int{1, 2}, 2_000
	}
	b := benchFlags{seed: e.seed, preload: true, slice: true, protocol: "binary", ciLevel: 0.96,
		timeout: 5 * time.Second, distrib: "ketama", noProgess: e.quiet}
	thesisWorkload(&b, 10_000)
	w, props, err := b.workloadFrom()
	if err != nil {
		return nil, err
	}
	table := props.String("table", "usertable")
	var all []series
	for _, model := range []inprocFlags{
		{trusted: "true", cacheArgs: "-m 1024", pipeline: 1},
		{trusted: "true", cacheArgs: "-m 1024", pipeline: 1, window: 16},
	} {
		s, err := model.sweepInproc(ctx, &b, w, table, counts, ops, true)
		if err != nil {
			return nil, err
		}
		if model.window == 0 {
			s.name = "trusted, YCSB model"
		} else {
			s.name = fmt.Sprintf("trusted, pipelined (window %d)", model.window)
		}
		all = append(all, s)
	}
	if err := writeFile(e.path("fig5.1", "csv"), func(f io.Writer) error { return writeSweepCSV(f, all) }); err != nil {
		return nil, err
	}
	title := fmt.Sprintf("Fig. 5.1: in process, YCSB-B 1 KB, %d ops per client agent", ops)
	if err := writeFile(e.path("fig5.1", "png"), func(f io.Writer) error { return plotSweep(f, title, all, b.ciLevel) }); err != nil {
		return nil, err
	}
	head := map[string]any{"thesis_ops_s": 150_000, "thesis_note": "4 SGX cores, trusted, YCSB model"}
	for _, s := range all {
		best := slices.MaxFunc(s.points, func(a, b point) int { return cmpFloat(a.throughput, b.throughput) })
		key := strings.NewReplacer(", ", "_", " ", "_", "(", "", ")", "").Replace(s.name)
		head[key+"_max_ops_s"] = round(best.throughput)
		head[key+"_max_at_clients"] = best.clients
		head[key+"_errors"] = sumErrors(s.points)
	}
	return head, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func round(v float64) float64 { return float64(int64(v + 0.5)) }

func sumErrors(ps []point) (n int64) {
	for _, p := range ps {
		n += p.errors
	}
	return n
}
