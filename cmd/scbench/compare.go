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

// serverFlags name the servers compare and sweep start, and their TLS.
type serverFlags struct {
	memcached, securecached string
	memcachedArgs, scArgs   []string
	tls                     serverTLSFlags
}

func (f *serverFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.memcached, "memcached", "", "path of Debian's memcached to start (e.g. /usr/bin/memcached)")
	fs.StringVar(&f.securecached, "securecached", "", "path of the securecached binary to start")
	fs.StringArrayVar(&f.memcachedArgs, "memcached-arg", nil, "extra argument for memcached (repeatable)")
	fs.StringArrayVar(&f.scArgs, "securecached-arg", nil, "extra argument for securecached (repeatable)")
	f.tls.register(fs)
}

// specs are the servers to start, with their TLS prepared; call cleanup
// when they have stopped, even after an error.
func (f *serverFlags) specs() (specs []serverSpec, cleanup func(), err error) {
	specs = specsFrom(f.memcached, f.securecached, f.memcachedArgs, f.scArgs)
	cleanup, err = f.tls.prepare(specs)
	return specs, cleanup, err
}

// parseFlags parses a subcommand's flags; help (-h) is not an error, and
// done says the subcommand has nothing more to do.
func parseFlags(fs *pflag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return true, nil
		}
		return true, fmt.Errorf("%w: %w", errUsage, err)
	}
	return false, nil
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
	var sf serverFlags
	sf.register(fs)
	fs.IntVar(&b.share, "pipeline", 1, pipelineHelp)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if b.share < 1 {
		return fmt.Errorf("%w: --pipeline %d", errUsage, b.share)
	}
	if sf.memcached == "" || sf.securecached == "" {
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
	specs, cleanup, err := sf.specs()
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
