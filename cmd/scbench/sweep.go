package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/ycsb"
	"github.com/spf13/pflag"
)

// point is one sweep measurement: a run with n clients.
type point struct {
	clients    int
	throughput float64 // the thesis's: total ops / slowest client's time
	meanUs     float64
	ciUs       float64
	p99Us      int64
	errors     int64
}

// series is one server's sweep.
type series struct {
	name   string
	points []point
}

func pointFrom(clients int, res *ycsb.Result, ci float64) point {
	return point{
		clients: clients, throughput: res.ThesisThroughput(),
		meanUs: res.Overall.Mean(), ciUs: res.Overall.CI(ci),
		p99Us: res.Overall.Hist.ValueAtQuantile(99), errors: res.Overall.Errors(),
	}
}

func parseClients(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("--clients: bad count %q (want 1..1024)", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--clients: empty")
	}
	return out, nil
}

// sweepServers loads the records once, then runs the workload once per
// client count, each client doing opsPerClient operations (the thesis runs
// 100 000 per client agent).
func (b *benchFlags) sweepServers(ctx context.Context, name string, servers []client.ServerConfig, w *ycsb.Workload, table string, counts []int, opsPerClient int64) (series, error) {
	s := series{name: name}
	if _, err := b.execute(ctx, w, table, ycsb.PhaseLoad, servers, max(1, w.Threads), name+" load"); err != nil {
		return s, fmt.Errorf("%s load: %w", name, err)
	}
	for _, n := range counts {
		wn := *w
		wn.OperationCount = opsPerClient * int64(n)
		// The records are already loaded; Preload would load them again.
		bn := *b
		bn.preload = false
		res, err := bn.execute(ctx, &wn, table, ycsb.PhaseRun, servers, n, fmt.Sprintf("%s %d clients", name, n))
		if err != nil {
			return s, fmt.Errorf("%s with %d clients: %w", name, n, err)
		}
		s.points = append(s.points, pointFrom(n, res, b.ciLevel))
	}
	return s, nil
}

// sweepInproc is sweepServers for the in-process deployment: a fresh
// instance per client count, its records loaded by every agent, then
// opsPerClient operations per client agent.
func (f *inprocFlags) sweepInproc(ctx context.Context, b *benchFlags, w *ycsb.Workload, table string, counts []int, opsPerClient int64, trusted bool) (series, error) {
	s := series{name: seriesName(trusted, f.pipeline, f.window)}
	bn := *b
	bn.preload = false
	for _, n := range counts {
		wn := *w
		wn.OperationCount = opsPerClient * int64(n)
		res, err := f.inprocPhase(ctx, &bn, &wn, table, ycsb.PhaseRun, n, trusted, fmt.Sprintf("%s %d clients", s.name, n))
		if err != nil {
			return s, fmt.Errorf("%s with %d clients: %w", s.name, n, err)
		}
		s.points = append(s.points, pointFrom(n, res, b.ciLevel))
	}
	return s, nil
}

func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("sweep", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var b benchFlags
	b.register(fs)
	var sf serverFlags
	sf.register(fs)
	target := fs.String("target", "", "servers already running: tcp://HOST:PORT[,...] (one series), or inproc (Diggi agents in this process; --trusted picks the series)")
	var ip inprocFlags
	ip.register(fs, true)
	clientsFlag := fs.String("clients", "1,2,4,6", "client counts to sweep")
	perClient := fs.Int64("ops-per-client", 0, "operations per client (default: the workload's operationcount)")
	pngOut := fs.String("png", "", "write throughput and latency charts to this PNG file")
	csvOut := fs.String("csv", "", "write the points to this CSV file")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	counts, err := parseClients(*clientsFlag)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if ip.pipeline < 1 {
		return fmt.Errorf("%w: --pipeline %d", errUsage, ip.pipeline)
	}
	b.share = ip.pipeline // for tcp:// servers; inproc reads ip
	if (*target == "") == (sf.memcached == "" && sf.securecached == "") {
		return fmt.Errorf("%w: sweep needs either --target or --memcached/--securecached", errUsage)
	}
	w, props, err := b.workloadOrDefault()
	if err != nil {
		return err
	}
	ops := *perClient
	if ops == 0 {
		ops = w.OperationCount
	}
	table := props.String("table", "usertable")

	var all []series
	if *target == inprocTarget {
		modes, err := ip.modes(true)
		if err != nil {
			return err
		}
		for _, trusted := range modes {
			s, err := ip.sweepInproc(ctx, &b, w, table, counts, ops, trusted)
			if err != nil {
				return err
			}
			all = append(all, s)
		}
	} else if *target != "" {
		servers, useTLS, err := parseTargets(*target)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		if useTLS {
			return fmt.Errorf("%w: sweep --target takes tcp:// servers; for TLS let sweep start them (--tls, --ratls) or use ycsb with tls:// targets", errUsage)
		}
		s, err := b.sweepServers(ctx, *target, servers, w, table, counts, ops)
		if err != nil {
			return err
		}
		all = append(all, s)
	}
	specs, cleanup, err := sf.specs()
	defer cleanup()
	if err != nil {
		return err
	}
	for _, spec := range specs {
		p, bs, err := spec.start(ctx, &b)
		if err != nil {
			return err
		}
		s, err := bs.sweepServers(ctx, spec.name, []client.ServerConfig{{Addr: p.addr, Weight: 1}}, w, table, counts, ops)
		p.stop()
		if err != nil {
			return err
		}
		all = append(all, s)
	}
	if err := writeSweepTable(stdout, all, b.ciLevel); err != nil {
		return err
	}
	if *csvOut != "" {
		if err := writeFile(*csvOut, func(f io.Writer) error { return writeSweepCSV(f, all) }); err != nil {
			return err
		}
	}
	if *pngOut != "" {
		title := fmt.Sprintf("YCSB %s, %d ops per client", workloadName(b.workload), ops)
		if *target == inprocTarget {
			title += ", in-process agents"
		}
		if err := writeFile(*pngOut, func(f io.Writer) error { return plotSweep(f, title, all, b.ciLevel) }); err != nil {
			return err
		}
	}
	return nil
}

func workloadName(path string) string {
	if path == "" {
		return "(properties)"
	}
	return path[strings.LastIndexByte(path, '/')+1:]
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

func writeSweepTable(w io.Writer, all []series, ci float64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "server\tclients\tthroughput (ops/s)\tmean latency (us)\tCI%.0f%% (+/- us)\tp99 (us)\terrors\n", ci*100)
	for _, s := range all {
		for _, p := range s.points {
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.1f\t%.1f\t%d\t%d\n", s.name, p.clients, p.throughput, p.meanUs, p.ciUs, p.p99Us, p.errors)
		}
	}
	return tw.Flush()
}

func writeSweepCSV(w io.Writer, all []series) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"server", "clients", "throughput_ops_sec", "mean_latency_us", "ci_half_width_us", "p99_us", "errors"})
	for _, s := range all {
		for _, p := range s.points {
			_ = cw.Write([]string{s.name, strconv.Itoa(p.clients),
				strconv.FormatFloat(p.throughput, 'f', 1, 64), strconv.FormatFloat(p.meanUs, 'f', 2, 64),
				strconv.FormatFloat(p.ciUs, 'f', 2, 64), strconv.FormatInt(p.p99Us, 10), strconv.FormatInt(p.errors, 10)})
		}
	}
	cw.Flush()
	return cw.Error()
}
