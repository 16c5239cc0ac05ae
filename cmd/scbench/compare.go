package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/ycsb"
	"github.com/spf13/pflag"
)

// defaultWorkload is used when -P is not given and the file exists (run
// from the repository root).
const defaultWorkload = "workloads/workloadb"

// serverSpec is a server binary to start for a comparison or a sweep.
type serverSpec struct {
	name      string
	bin       string
	memcached bool // pass memcached-only flags (-U 0, -u root)
	args      []string
	env       []string // added to scbench's environment
	// clientTLS, if set, is how clients reach the running server over TLS.
	clientTLS func() (tlsFor, error)
}

// start runs the server and returns it with the benchmark flags its
// clients use (b with the server's TLS configuration).
func (spec serverSpec) start(ctx context.Context, b *benchFlags) (*process, *benchFlags, error) {
	p, err := startServer(ctx, spec.name, spec.bin, spec.memcached, spec.args, spec.env)
	if err != nil {
		return nil, nil, err
	}
	bs := *b
	if spec.clientTLS != nil {
		if bs.newTLS, err = spec.clientTLS(); err != nil {
			p.stop()
			return nil, nil, fmt.Errorf("%s: client TLS: %w", spec.name, err)
		}
	}
	return p, &bs, nil
}

func addServerFlags(fs *pflag.FlagSet) (mc, sc *string, mcArgs, scArgs *[]string) {
	mc = fs.String("memcached", "", "path of Debian's memcached to start (e.g. /usr/bin/memcached)")
	sc = fs.String("securecached", "", "path of the securecached binary to start")
	mcArgs = fs.StringArray("memcached-arg", nil, "extra argument for memcached (repeatable)")
	scArgs = fs.StringArray("securecached-arg", nil, "extra argument for securecached (repeatable)")
	return
}

func specsFrom(mc, sc string, mcArgs, scArgs []string) []serverSpec {
	var specs []serverSpec
	if mc != "" {
		specs = append(specs, serverSpec{name: "memcached", bin: mc, memcached: true, args: mcArgs})
	}
	if sc != "" {
		specs = append(specs, serverSpec{name: "securecached", bin: sc, args: scArgs})
	}
	return specs
}

// phases is one server's load and run results.
type phases struct {
	name      string
	load, run *ycsb.Result
}

// loadAndRun starts spec, loads the workload's records, runs it, and stops
// the server.
func (b *benchFlags) loadAndRun(ctx context.Context, spec serverSpec, w *ycsb.Workload, table string, threads int) (phases, error) {
	p, b, err := spec.start(ctx, b)
	if err != nil {
		return phases{}, err
	}
	defer p.stop()
	servers := []client.ServerConfig{{Addr: p.addr, Weight: 1}}
	out := phases{name: spec.name}
	out.load, err = b.execute(ctx, w, table, ycsb.PhaseLoad, servers, threads, spec.name+" load")
	if err != nil {
		return out, fmt.Errorf("%s load: %w", spec.name, err)
	}
	out.run, err = b.execute(ctx, w, table, ycsb.PhaseRun, servers, threads, spec.name+" run")
	if err != nil {
		return out, fmt.Errorf("%s run: %w", spec.name, err)
	}
	return out, nil
}

func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var b benchFlags
	b.register(fs)
	mc, sc, mcArgs, scArgs := addServerFlags(fs)
	var tf serverTLSFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if *mc == "" || *sc == "" {
		return fmt.Errorf("%w: compare needs --memcached and --securecached", errUsage)
	}
	w, props, err := b.workloadOrDefault()
	if err != nil {
		return err
	}
	threads := b.threads
	if threads == 0 {
		threads = w.Threads
	}
	specs := specsFrom(*mc, *sc, *mcArgs, *scArgs)
	cleanup, err := tf.prepare(specs)
	defer cleanup()
	if err != nil {
		return err
	}
	var results []phases
	for _, spec := range specs {
		r, err := b.loadAndRun(ctx, spec, w, props.String("table", "usertable"), threads)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if b.format == "json" {
		out := map[string]map[string]ycsb.Summary{}
		for _, r := range results {
			out[r.name] = map[string]ycsb.Summary{
				"load": r.load.Summary(w.HistogramPercents, b.ciLevel),
				"run":  r.run.Summary(w.HistogramPercents, b.ciLevel),
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeComparison(stdout, results[0], results[1], w.HistogramPercents, b.ciLevel)
}

// comparisonRows lists the numbers compared, one row per metric.
func comparisonRows(a, b phases, percentiles []float64, ci float64) [][4]string {
	f := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	ratio := func(x, y float64) string {
		if x == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", y/x)
	}
	var rows [][4]string
	add := func(name string, x, y float64) {
		rows = append(rows, [4]string{name, f(x), f(y), ratio(x, y)})
	}
	addCount := func(name string, x, y int64) {
		rows = append(rows, [4]string{name, fmt.Sprint(x), fmt.Sprint(y), ratio(float64(x), float64(y))})
	}
	add("load throughput (ops/s)", a.load.Throughput(), b.load.Throughput())
	add("run throughput (ops/s)", a.run.Throughput(), b.run.Throughput())
	add("run thesis throughput (ops/s)", a.run.ThesisThroughput(), b.run.ThesisThroughput())
	add("run mean latency (us)", a.run.Overall.Mean(), b.run.Overall.Mean())
	add(fmt.Sprintf("run mean latency CI%.0f%% (+/- us)", ci*100), a.run.Overall.CI(ci), b.run.Overall.CI(ci))
	for op, sa := range a.run.Ops {
		sb := b.run.Ops[op]
		if sa == nil || sb == nil {
			continue
		}
		name := ycsb.Op(op).String()
		addCount(name+" operations", sa.Count, sb.Count)
		addCount(name+" errors", sa.Errors(), sb.Errors())
		add(name+" average (us)", sa.Mean(), sb.Mean())
		for _, p := range percentiles {
			addCount(fmt.Sprintf("%s p%g (us)", name, p), sa.Hist.ValueAtQuantile(p), sb.Hist.ValueAtQuantile(p))
		}
		addCount(name+" max (us)", sa.Hist.Max(), sb.Hist.Max())
	}
	return rows
}

func dashes(s string) string { return strings.Repeat("-", len(s)) }

func writeComparison(w io.Writer, a, b phases, percentiles []float64, ci float64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ratioName := b.name + "/" + a.name
	fmt.Fprintf(tw, "metric\t%s\t%s\t%s\t\n", a.name, b.name, ratioName)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", dashes("metric"), dashes(a.name), dashes(b.name), dashes(ratioName))
	for _, r := range comparisonRows(a, b, percentiles, ci) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r[0], r[1], r[2], r[3])
	}
	return tw.Flush()
}
