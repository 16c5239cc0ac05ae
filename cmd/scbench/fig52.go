package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

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

// runFig52 is Figure 5.2: one-way throughput between trusted agents of
// two instances in two network namespaces joined by a veth, payloads 16 B
// to 4 KB, 1-3 sender agents, next to iperf3 over the same veth with the
// same message size; then round trips/s with 1-6 client agents and the
// link's round trip against a TCP ping-pong over the veth (p50, p99).
func runFig52(ctx context.Context, e *expEnv) (map[string]any, error) {
	d, payloads, clients, latN := 2*time.Second, []int{16, 32, 64, 128, 256, 512, 1024, 2048, 4096}, 6, 5000
	if e.short {
		d, payloads, clients, latN = 300*time.Millisecond, []int{64, 1024}, 2, 200
	}
	pair, err := netns.NewVethPair()
	if err != nil {
		return nil, fmt.Errorf("fig5.2 needs two network namespaces: %w", err)
	}
	defer pair.Close()
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	state, err := os.MkdirTemp("", "scbench-fig52-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(state)
	sink, err := linkbench.Start(pair.Command(pair.B, exe),
		linkbench.Spec{Role: "sink", Listen: pair.AddrB + ":7100", StateDir: state, Trusted: true, EchoAddr: pair.AddrB + ":7101"})
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	source, err := linkbench.Start(pair.Command(pair.A, exe),
		linkbench.Spec{Role: "source", Listen: pair.AddrA + ":7100", Seeds: []string{sink.Addr}, StateDir: state, Trusted: true, EchoAddr: sink.EchoAddr})
	if err != nil {
		return nil, err
	}
	defer source.Close()
	stopIperf, err := linkbench.Iperf3Server(pair, 5201)
	if err != nil {
		return nil, err
	}
	defer stopIperf()

	timeout := d + 60*time.Second
	var rows []fig52Row
	for _, p := range payloads {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ip, err := linkbench.Iperf3(pair, 5201, p, d)
		if err != nil {
			return nil, err
		}
		for s := 1; s <= linkbench.MaxSenders; s++ {
			res, err := source.Do(fmt.Sprintf("tput %d %d %d", p, s, d.Milliseconds()), timeout)
			if err != nil {
				return nil, err
			}
			r := fig52Row{payload: p, senders: s, mbit: linkbench.Number(res, "mbit_s"), msgs: linkbench.Number(res, "msgs_s"), iperf3: ip}
			rows = append(rows, r)
			if !e.quiet {
				fmt.Fprintf(e.stderr, "fig5.2: %5d B, %d senders: %8.1f Mbit/s (iperf3 %8.1f, ratio %.2f)\n", p, s, r.mbit, ip, r.mbit/ip)
			}
		}
	}
	var rtts [][2]float64
	for c := 1; c <= clients; c++ {
		res, err := source.Do(fmt.Sprintf("rtt %d %d", c, d.Milliseconds()), timeout)
		if err != nil {
			return nil, err
		}
		rtts = append(rtts, [2]float64{float64(c), linkbench.Number(res, "round_trips_s")})
	}
	lat, err := source.Do(fmt.Sprintf("lat %d", latN), timeout+time.Duration(latN)*10*time.Millisecond)
	if err != nil {
		return nil, err
	}
	num := func(k string) float64 { return linkbench.Number(lat, k) }

	if err := writeFile(e.path("fig5.2", "csv"), func(w io.Writer) error { return writeFig52CSV(w, rows) }); err != nil {
		return nil, err
	}
	if err := writeFile(e.path("fig5.2", "png"), func(w io.Writer) error { return plotFig52(w, rows) }); err != nil {
		return nil, err
	}
	if err := writeFile(e.path("fig5.2-rtt", "csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"clients", "round_trips_s"})
		for _, r := range rtts {
			_ = cw.Write([]string{strconv.Itoa(int(r[0])), strconv.FormatFloat(r[1], 'f', 0, 64)})
		}
		cw.Flush()
		return cw.Error()
	}); err != nil {
		return nil, err
	}
	if err := writeFile(e.path("fig5.2-latency", "csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"link_p50_us", "link_p99_us", "veth_tcp_p50_us", "veth_tcp_p99_us", "added_p50_us", "added_p99_us"})
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
		_ = cw.Write([]string{f(num("link_p50_us")), f(num("link_p99_us")), f(num("tcp_p50_us")), f(num("tcp_p99_us")),
			f(num("link_p50_us") - num("tcp_p50_us")), f(num("link_p99_us") - num("tcp_p99_us"))})
		cw.Flush()
		return cw.Error()
	}); err != nil {
		return nil, err
	}
	head := map[string]any{
		"round_trips_s_max_clients": rtts[len(rtts)-1][1],
		"link_added_p50_us":         num("link_p50_us") - num("tcp_p50_us"),
		"link_added_p99_us":         num("link_p99_us") - num("tcp_p99_us"),
	}
	for _, r := range rows {
		if r.payload == 1024 {
			head[fmt.Sprintf("ratio_1k_%d_senders", r.senders)] = r.mbit / r.iperf3
			head["iperf3_1k_mbit_s"] = r.iperf3
		}
	}
	return head, nil
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
func plotFig52(w io.Writer, rows []fig52Row) error {
	p := plot.New()
	p.Title.Text = "Fig. 5.2: trusted agents of two instances, one way over a veth"
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
