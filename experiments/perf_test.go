package experiments

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/internal/proctime"
	"github.com/securecached/securecached/ycsb"
)

// BenchmarkInprocYCSBB1KB is the thesis's in-process experiment (§5.2,
// Figure 5.1): YCSB-B (95% reads, 5% updates, zipfian) with 1 KB values,
// 1 to 6 client agents, all agents trusted or untrusted, in three client
// models. threads=1 is YCSB's (one blocking client per agent, one
// outstanding request); threads=16 pipelines 16 blocking YCSB client
// threads on each agent's one connection; window=K is the pipelined model
// (each agent's event-driven client keeps K transactions outstanding and
// batches their requests; -window picks K, default 64). b.N is the total
// number of operations; ops/s is the phase's YCSB throughput, counting
// only operations answered and verified (any that did not end OK fails
// the benchmark).
func BenchmarkInprocYCSBB1KB(b *testing.B) {
	type model struct {
		name            string
		threads, window int
	}
	models := []model{{"threads=1", 1, 0}, {"threads=16", 16, 0}}
	for _, w := range benchWindows {
		models = append(models, model{fmt.Sprintf("window=%d", w), 1, w})
	}
	for _, m := range trustModes {
		for _, md := range models {
			for clients := 1; clients <= 6; clients++ {
				b.Run(fmt.Sprintf("%s/%s/clients=%d", m.name, md.name, clients), func(b *testing.B) {
					benchYCSB(b, Setup{Clients: clients, Trusted: m.trusted, Threads: md.threads, Window: md.window})
				})
			}
		}
	}
}

// benchWindows are the pipelined model's windows BenchmarkInprocYCSBB1KB
// measures; -window sets them.
var benchWindows = []int{64}

func init() {
	flag.Func("window", "pipelined model windows for BenchmarkInprocYCSBB1KB (comma-separated; default 64)", func(v string) error {
		benchWindows = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > ycsb.MaxWindow {
				return fmt.Errorf("bad window %q", f)
			}
			benchWindows = append(benchWindows, n)
		}
		return nil
	})
}

func benchYCSB(b *testing.B, s Setup) {
	bench := startBench(b, s)
	ctx := context.Background()
	w := workloadB(b, 10000, b.N)
	if _, err := bench.Execute(ctx, w, ycsb.PhaseLoad, RunOptions{}); err != nil {
		b.Fatal(err)
	}
	sent0, cpu0 := messagesSent(b, bench), cpuTime(b)
	b.ResetTimer()
	res, err := bench.Execute(ctx, w, ycsb.PhaseRun, RunOptions{})
	b.StopTimer()
	sent, cpu := messagesSent(b, bench)-sent0, cpuTime(b)-cpu0
	if err != nil {
		b.Fatal(err)
	}
	// Every key read exists, so a miss is as wrong as an error.
	if ok := res.Overall.Returns[ycsb.StatusOK]; ok != res.TotalOps() || res.TotalOps() != int64(b.N) {
		b.Fatalf("%d of %d operations OK (want %d): %v", ok, res.TotalOps(), b.N, res.Overall.Returns)
	}
	b.ReportMetric(res.Throughput(), "ops/s")
	b.ReportMetric(res.Overall.Mean(), "mean-µs")
	// Diggi messages between agents per operation: 2 when every request
	// and every response travels alone; less when pipelining shares them.
	b.ReportMetric(float64(sent)/float64(res.TotalOps()), "msgs/op")
	// The process's CPU time per operation (user+system, all threads):
	// unlike ops/s it does not depend on how much of the shared machine
	// the run got; 2 cores can do at most 2e6/cpu-µs/op operations a second.
	b.ReportMetric(float64(cpu.Microseconds())/float64(res.TotalOps()), "cpu-µs/op")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	d, err := proctime.Total()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// messagesSent totals the messages every agent of the instance has sent.
func messagesSent(b *testing.B, bench *Bench) uint64 {
	var n uint64
	for _, name := range append([]string{CacheName}, agentNames(bench)...) {
		ctx, ok := bench.Instance().Context(name)
		if !ok {
			b.Fatalf("no agent %q", name)
		}
		n += ctx.Messages().Stats().Sent
	}
	return n
}

func agentNames(bench *Bench) []string {
	var out []string
	for _, a := range bench.Agents() {
		out = append(out, a.Name())
	}
	return out
}

// BenchmarkInprocClientGet1KB is one client agent's get of a 1 KB value
// from the cache agent over a Diggi socket, without YCSB's generators and
// measurements: the stack's own cost per request. depth=1 waits for each
// reply (YCSB's model); depth=16 keeps 16 GetAsync outstanding.
func BenchmarkInprocClientGet1KB(b *testing.B) {
	for _, m := range trustModes {
		for _, depth := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/depth=%d", m.name, depth), func(b *testing.B) {
				bench := startBench(b, Setup{Clients: 1, Trusted: m.trusted})
				c := bench.Agents()[0].Client()
				ctx := context.Background()
				val := make([]byte, 1024)
				if err := c.Set(ctx, &client.Item{Key: "k", Value: val}); err != nil {
					b.Fatal(err)
				}
				pend := make([]*client.Pending, 0, depth)
				b.SetBytes(1024)
				cpu0 := cpuTime(b)
				b.ResetTimer()
				for i := 0; i < b.N; i += depth {
					pend = pend[:0]
					for range min(depth, b.N-i) {
						p, err := c.GetAsync(ctx, "k")
						if err != nil {
							b.Fatal(err)
						}
						pend = append(pend, p)
					}
					for _, p := range pend {
						if _, err := p.Wait(ctx); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}
