package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/ycsb"
	"github.com/spf13/pflag"
)

// benchFlags are the flags every command shares.
type benchFlags struct {
	workload  string
	props     []string
	threads   int
	rate      float64
	format    string
	seed      uint64
	preload   bool
	slice     bool
	protocol  string
	ciLevel   float64
	timeout   time.Duration
	distrib   string
	noProgess bool
	newTLS    tlsFor // if set, clients speak TLS (client.Config.NewTLS)
	// share is how many YCSB client goroutines share one client (one
	// connection per server) against tcp:// and tls:// servers: 1 is
	// YCSB's model, more pipeline their requests on the shared
	// connection (--pipeline).
	share int
}

func (b *benchFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&b.workload, "workload", "P", "", "YCSB workload property file")
	fs.StringArrayVarP(&b.props, "prop", "p", nil, "property override name=value (repeatable)")
	fs.IntVar(&b.threads, "threads", 0, "client goroutines (default: the workload's threadcount, else 1)")
	fs.Float64Var(&b.rate, "ops-per-sec", 0, "throttle to this many ops/s in total, like YCSB's -target (0 = unthrottled)")
	fs.StringVar(&b.format, "format", "text", "output format: text (YCSB's), json or csv")
	fs.Uint64Var(&b.seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	fs.BoolVar(&b.preload, "preload", false, "run: client 0 loads the records first, then all clients run (the thesis's coordination)")
	fs.BoolVar(&b.slice, "slice-keys", false, "run: give each client its own slice of the key space")
	fs.StringVar(&b.protocol, "protocol", "binary", "memcached protocol: binary (as the thesis), text or meta")
	fs.Float64Var(&b.ciLevel, "ci", ycsb.DefaultCILevel, "confidence level of the mean latency's interval")
	fs.DurationVar(&b.timeout, "op-timeout", 2*time.Second, "timeout of one operation")
	fs.StringVar(&b.distrib, "distribution", "ketama", "key distribution over servers: ketama (weighted), ketama-unweighted or modulo")
	fs.BoolVar(&b.noProgess, "no-progress", false, "never print the live progress line")
}

// workloadFrom reads -P and applies -p.
func (b *benchFlags) workloadFrom() (*ycsb.Workload, ycsb.Properties, error) {
	props := ycsb.Properties{}
	if b.workload != "" {
		p, err := ycsb.LoadPropertyFile(b.workload)
		if err != nil {
			return nil, nil, err
		}
		props = p
	}
	for _, o := range b.props {
		if err := props.Set(o); err != nil {
			return nil, nil, err
		}
	}
	w, err := ycsb.NewWorkload(props)
	if err != nil {
		return nil, nil, err
	}
	if w.Proportions[ycsb.OpScan] > 0 {
		fmt.Fprintln(os.Stderr, "scbench: warning: memcached cannot scan; scans will report NOT_IMPLEMENTED")
	}
	return w, props, nil
}

// workloadOrDefault is workloadFrom for the commands that compare servers:
// without -P they run defaultWorkload when it exists (run from the
// repository root).
func (b *benchFlags) workloadOrDefault() (*ycsb.Workload, ycsb.Properties, error) {
	if b.workload == "" {
		if _, err := os.Stat(defaultWorkload); err == nil {
			b.workload = defaultWorkload
		}
	}
	return b.workloadFrom()
}

func (b *benchFlags) clientConfig(servers []client.ServerConfig) (client.Config, error) {
	proto, err := client.ParseProtocol(b.protocol)
	if err != nil {
		return client.Config{}, fmt.Errorf("%w: %w", errUsage, err)
	}
	cfg := client.Config{Servers: servers, Timeout: b.timeout, MaxConnsPerServer: 1, Protocol: proto, NewTLS: b.newTLS}
	switch b.distrib {
	case "ketama":
	case "modulo":
		cfg.Distribution = client.Modulo
	case "ketama-unweighted":
		cfg.Distribution = client.KetamaUnweighted
	default:
		return client.Config{}, fmt.Errorf("%w: --distribution %q", errUsage, b.distrib)
	}
	return cfg, nil
}

// execute runs one phase against servers.
func (b *benchFlags) execute(ctx context.Context, w *ycsb.Workload, table string, phase ycsb.Phase, servers []client.ServerConfig, threads int, label string) (*ycsb.Result, error) {
	cfg, err := b.clientConfig(servers)
	if err != nil {
		return nil, err
	}
	if err := preflight(ctx, cfg); err != nil {
		return nil, err
	}
	f := &dbFactory{cfg: cfg, table: table, share: max(b.share, 1)}
	defer f.close()
	opts := ycsb.Options{
		Phase: phase, Threads: threads, Target: b.rate, Seed: b.seed,
		Preload: b.preload, SliceKeys: b.slice, NewDB: f.open,
	}
	if !b.noProgess {
		opts.Progress = progressLine(os.Stderr, label)
	}
	return ycsb.Execute(ctx, w, opts)
}

// preflight asks every server for its version before a phase starts, so
// that an unreachable server or a refused TLS or RA-TLS handshake stops
// scbench with its reason instead of turning into a report of failed
// operations.
func preflight(ctx context.Context, cfg client.Config) error {
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Version(ctx); err != nil {
		return fmt.Errorf("server check: %w", err)
	}
	return nil
}

func writeResult(w io.Writer, res *ycsb.Result, format string, wl *ycsb.Workload, ci float64) error {
	switch format {
	case "text":
		if res.Preload != nil {
			fmt.Fprintln(w, "# preload (client 0)")
			if err := res.Preload.WriteText(w, wl.HistogramPercents, ci); err != nil {
				return err
			}
			fmt.Fprintln(w, "# run")
		}
		return res.WriteText(w, wl.HistogramPercents, ci)
	case "json":
		return res.WriteJSON(w, wl.HistogramPercents, ci)
	case "csv":
		return res.WriteCSV(w, wl.HistogramPercents, ci)
	}
	return fmt.Errorf("%w: --format %q (want text, json or csv)", errUsage, format)
}

func runYCSB(ctx context.Context, phaseName string, args []string, stdout, stderr io.Writer) error {
	var phase ycsb.Phase
	switch phaseName {
	case "load":
		phase = ycsb.PhaseLoad
	case "run":
		phase = ycsb.PhaseRun
	default:
		return fmt.Errorf("%w: ycsb %q: want load or run", errUsage, phaseName)
	}
	fs := pflag.NewFlagSet("ycsb "+phaseName, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var b benchFlags
	b.register(fs)
	target := fs.String("target", "", "servers: tcp://HOST:PORT[?weight=N&trusted=1][,...], the same with tls://, or inproc (Diggi agents in this process)")
	var ctf clientTLSFlags
	ctf.register(fs)
	var ip inprocFlags
	ip.register(fs, false)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	w, props, err := b.workloadFrom()
	if err != nil {
		return err
	}
	switch b.format {
	case "text", "json", "csv":
	default:
		return fmt.Errorf("%w: --format %q (want text, json or csv)", errUsage, b.format)
	}
	table := props.String("table", "usertable")
	var res *ycsb.Result
	if *target == inprocTarget {
		if _, terr := ctf.config(false); terr != nil {
			return fmt.Errorf("%w: %w", errUsage, terr)
		}
		modes, merr := ip.modes(false)
		if merr != nil {
			return merr
		}
		agents := cmp.Or(b.threads, w.Threads, 1)
		res, err = ip.inprocPhase(ctx, &b, w, table, phase, agents, modes[0], phaseName)
		if res != nil && b.format == "text" {
			fmt.Fprintf(stdout, "# inproc: %d client agents, %s\n", agents, ip.model(modes[0]))
		}
	} else {
		servers, useTLS, perr := parseTargets(*target)
		if perr != nil {
			return fmt.Errorf("%w: %w", errUsage, perr)
		}
		if b.newTLS, perr = ctf.config(useTLS); perr != nil {
			return fmt.Errorf("%w: %w", errUsage, perr)
		}
		if ip.window > 0 {
			return fmt.Errorf("%w: --window applies to --target inproc only", errUsage)
		}
		if ip.pipeline < 1 {
			return fmt.Errorf("%w: --pipeline %d", errUsage, ip.pipeline)
		}
		b.share = ip.pipeline
		res, err = b.execute(ctx, w, table, phase, servers, b.threads, phaseName)
	}
	if res != nil {
		if werr := writeResult(stdout, res, b.format, w, b.ciLevel); werr != nil {
			return werr
		}
	}
	return err
}
