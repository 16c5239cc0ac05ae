package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/securecached/securecached/diggi/linkbench"
	"github.com/securecached/securecached/internal/netns"
)

// fig52Row is one point of Fig. 5.2: one-way throughput between agents of
// two instances, next to iperf3 over the same veth with the same message
// size.
type fig52Row struct {
	payload, senders int
	mbit, msgs       float64
	iperf3           float64
}

func runExperiment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "fig5.2" {
		fmt.Fprintln(stderr, "usage: scbench experiment fig5.2 --out DIR [--seconds S] [--trusted=false]")
		return errUsage
	}
	fs := pflag.NewFlagSet("experiment fig5.2", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory for fig5.2.csv, fig5.2.png, fig5.2-rtt.csv and fig5.2-latency.csv")
	secs := fs.Float64("seconds", 2, "duration of each throughput and round-trip measurement")
	trusted := fs.Bool("trusted", true, "agents are trusted (payloads sealed end to end)")
	minP := fs.Int("min-payload", 16, "smallest payload (bytes; powers of two up to --max-payload)")
	maxP := fs.Int("max-payload", 4096, "largest payload")
	latN := fs.Int("latency-count", 5000, "round trips for the latency percentiles")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if *out == "" || *secs <= 0 || *minP < 1 || *maxP < *minP {
		return fmt.Errorf("%w: --out is required; durations and payloads must be positive", errUsage)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	d := time.Duration(*secs * float64(time.Second))

	pair, err := netns.New()
	if err != nil {
		return fmt.Errorf("fig5.2 needs two network namespaces: %w", err)
	}
	defer pair.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	state, err := os.MkdirTemp("", "scbench-fig52-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	sink, err := linkbench.Start(netns.Command(pair.B, exe),
		linkbench.Spec{Role: "sink", Listen: pair.AddrB + ":7100", StateDir: state, Trusted: *trusted, EchoAddr: pair.AddrB + ":7101"})
	if err != nil {
		return err
	}
	defer sink.Close()
	source, err := linkbench.Start(netns.Command(pair.A, exe),
		linkbench.Spec{Role: "source", Listen: pair.AddrA + ":7100", Seeds: []string{sink.Addr}, StateDir: state, Trusted: *trusted, EchoAddr: sink.EchoAddr})
	if err != nil {
		return err
	}
	defer source.Close()

	stopIperf, err := linkbench.Iperf3Server(pair, 5201)
	if err != nil {
		return err
	}
	defer stopIperf()
	timeout := d + 60*time.Second
	var rows []fig52Row
	for p := *minP; p <= *maxP; p *= 2 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ip, err := linkbench.Iperf3(pair, 5201, p, d)
		if err != nil {
			return err
		}
		for s := 1; s <= linkbench.MaxSenders; s++ {
			res, err := source.Do(fmt.Sprintf("tput %d %d %d", p, s, d.Milliseconds()), timeout)
			if err != nil {
				return err
			}
			r := fig52Row{payload: p, senders: s, mbit: linkbench.Number(res, "mbit_s"), msgs: linkbench.Number(res, "msgs_s"), iperf3: ip}
			rows = append(rows, r)
			fmt.Fprintf(stderr, "fig5.2: %5d B, %d senders: %8.1f Mbit/s (iperf3 %8.1f, ratio %.2f)\n", p, s, r.mbit, ip, r.mbit/ip)
		}
	}
	var rtts [][2]float64
	for c := 1; c <= linkbench.MaxClients; c++ {
		res, err := source.Do(fmt.Sprintf("rtt %d %d", c, d.Milliseconds()), timeout)
		if err != nil {
			return err
		}
		rtts = append(rtts, [2]float64{float64(c), linkbench.Number(res, "round_trips_s")})
	}
	lat, err := source.Do(fmt.Sprintf("lat %d", *latN), timeout+time.Duration(*latN)*10*time.Millisecond)
	if err != nil {
		return err
	}

	if err := writeFile(filepath.Join(*out, "fig5.2.csv"), func(w io.Writer) error { return writeFig52CSV(w, rows) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*out, "fig5.2.png"), func(w io.Writer) error { return plotFig52(w, rows, *trusted) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*out, "fig5.2-rtt.csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"clients", "round_trips_s"})
		for _, r := range rtts {
			_ = cw.Write([]string{strconv.Itoa(int(r[0])), strconv.FormatFloat(r[1], 'f', 0, 64)})
		}
		cw.Flush()
		return cw.Error()
	}); err != nil {
		return err
	}
	num := func(k string) float64 { return linkbench.Number(lat, k) }
	if err := writeFile(filepath.Join(*out, "fig5.2-latency.csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"link_p50_us", "link_p99_us", "veth_tcp_p50_us", "veth_tcp_p99_us", "added_p50_us", "added_p99_us"})
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
		_ = cw.Write([]string{f(num("link_p50_us")), f(num("link_p99_us")), f(num("tcp_p50_us")), f(num("tcp_p99_us")),
			f(num("link_p50_us") - num("tcp_p50_us")), f(num("link_p99_us") - num("tcp_p99_us"))})
		cw.Flush()
		return cw.Error()
	}); err != nil {
		return err
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "payload (B)\tsenders\tMbit/s\tmsgs/s\tiperf3 Mbit/s\tratio")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.0f\t%.1f\t%.2f\n", r.payload, r.senders, r.mbit, r.msgs, r.iperf3, r.mbit/r.iperf3)
	}
	fmt.Fprintln(tw, "\nclients\tround trips/s")
	for _, r := range rtts {
		fmt.Fprintf(tw, "%d\t%.0f\n", int(r[0]), r[1])
	}
	fmt.Fprintf(tw, "\nlatency (us)\tp50\tp99\nlink round trip\t%.0f\t%.0f\nveth TCP round trip\t%.0f\t%.0f\nadded by the link\t%.0f\t%.0f\n",
		num("link_p50_us"), num("link_p99_us"), num("tcp_p50_us"), num("tcp_p99_us"),
		num("link_p50_us")-num("tcp_p50_us"), num("link_p99_us")-num("tcp_p99_us"))
	return tw.Flush()
}

func writeFig52CSV(w io.Writer, rows []fig52Row) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"payload_bytes", "senders", "mbit_s", "msgs_s", "iperf3_mbit_s"})
	for _, r := range rows {
		_ = cw.Write([]string{strconv.Itoa(r.payload), strconv.Itoa(r.senders),
			strconv.FormatFloat(r.mbit, 'f', 1, 64), strconv.FormatFloat(r.msgs, 'f', 0, 64), strconv.FormatFloat(r.iperf3, 'f', 1, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// plotFig52 draws the thesis's Fig. 5.2: throughput against payload size
// (log scale), one line per number of sender agents, and iperf3's.
func plotFig52(w io.Writer, rows []fig52Row, trusted bool) error {
	p := plot.New()
	kind := "untrusted"
	if trusted {
		kind = "trusted"
	}
	p.Title.Text = "Agent-to-agent throughput between two instances (" + kind + " agents)"
	p.X.Label.Text = "Payload (bytes)"
	p.Y.Label.Text = "Throughput (Mbit/s)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Millimeter
	p.Y.Min = 0
	add := func(name string, i int, pts plotter.XYs) error {
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		c := seriesColors[i%len(seriesColors)]
		line.Color, points.Color = c, c
		p.Add(line, points)
		p.Legend.Add(name, line, points)
		return nil
	}
	for s := 1; s <= linkbench.MaxSenders; s++ {
		var pts plotter.XYs
		for _, r := range rows {
			if r.senders == s {
				pts = append(pts, plotter.XY{X: float64(r.payload), Y: r.mbit})
			}
		}
		if err := add(fmt.Sprintf("%d sender agent(s)", s), s-1, pts); err != nil {
			return err
		}
	}
	var ip plotter.XYs
	for _, r := range rows {
		if r.senders == 1 && !math.IsNaN(r.iperf3) {
			ip = append(ip, plotter.XY{X: float64(r.payload), Y: r.iperf3})
		}
	}
	if err := add("iperf3 (same veth, same message size)", linkbench.MaxSenders, ip); err != nil {
		return err
	}
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
