package experiments

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/ycsb"
)

func workloadB(t testing.TB, records, ops int) *ycsb.Workload {
	return newWorkload(t, records, ops, ycsb.Properties{
		"readproportion": "0.95", "updateproportion": "0.05",
		"requestdistribution": "zipfian", "fieldcount": "1", "fieldlength": "1024",
	})
}

// newWorkload is the workload of props with records records and ops
// operations, or fails the test.
func newWorkload(t testing.TB, records, ops int, props ycsb.Properties) *ycsb.Workload {
	t.Helper()
	props["recordcount"], props["operationcount"] = itoa(records), itoa(ops)
	w, err := ycsb.NewWorkload(props)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func itoa(n int) string { return strconv.Itoa(n) }

// checkClean fails unless every operation of res ended OK.
func checkClean(t *testing.T, what string, res *ycsb.Result, want int64) {
	t.Helper()
	if res.TotalOps() != want {
		t.Fatalf("%s: %d operations, want %d", what, res.TotalOps(), want)
	}
	if ok := res.Overall.Returns[ycsb.StatusOK]; ok != want {
		t.Fatalf("%s: %d OK of %d: %v", what, ok, want, res.Overall.Returns)
	}
}

// models are the client models the in-process tests cover: YCSB's
// (blocking threads, one outstanding request each) and the pipelined
// event-driven client.
var models = []struct {
	name            string
	threads, window int
}{{"threads=1", 1, 0}, {"threads=4", 4, 0}, {"window=1", 1, 1}, {"window=16", 1, 16}}

// TestYCSBInProcess loads and runs YCSB-B with three client agents, in
// YCSB's model and pipelined, trusted and untrusted: every operation ends
// OK (a miss or an unverified value would not).
func TestYCSBInProcess(t *testing.T) {
	for _, m := range trustModes {
		for _, md := range models {
			t.Run(m.name+"/"+md.name, func(t *testing.T) {
				threads := md.threads
				b := startBench(t, Setup{Clients: 3, Trusted: m.trusted, Threads: threads, Window: md.window})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				w := workloadB(t, 300, 1200)
				load, err := b.Execute(ctx, w, ycsb.PhaseLoad, RunOptions{})
				if err != nil {
					t.Fatal(err)
				}
				checkClean(t, "load", load, 300)
				if load.Threads != 3*threads {
					t.Fatalf("load ran %d clients, want %d", load.Threads, 3*threads)
				}
				run, err := b.Execute(ctx, w, ycsb.PhaseRun, RunOptions{PlanOptions: ycsb.PlanOptions{Seed: 1}})
				if err != nil {
					t.Fatal(err)
				}
				checkClean(t, "run", run, 1200)
				if run.Ops[ycsb.OpRead] == nil || run.Ops[ycsb.OpUpdate] == nil {
					t.Fatalf("run: reads %v updates %v", run.Ops[ycsb.OpRead], run.Ops[ycsb.OpUpdate])
				}
				if run.Throughput() <= 0 || run.RunTime <= 0 {
					t.Fatalf("run: throughput %v over %v", run.Throughput(), run.RunTime)
				}
			})
		}
	}
}

// TestYCSBPreloadCoordination is the thesis's coordination: agent 0 loads
// every record alone and then starts the others by message (Started is
// called once, just before); the others' reads must all hit, so none
// started before the load finished.
func TestYCSBPreloadCoordination(t *testing.T) {
	for _, m := range trustModes {
		t.Run(m.name, func(t *testing.T) {
			b := startBench(t, Setup{Clients: 3, Trusted: m.trusted})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			w := workloadB(t, 200, 900)
			starts := 0
			res, err := b.Execute(ctx, w, ycsb.PhaseRun, RunOptions{Preload: true, PlanOptions: ycsb.PlanOptions{SliceKeys: true},
				Started: func() { starts++ }})
			if err != nil {
				t.Fatal(err)
			}
			if starts != 1 {
				t.Fatalf("Started was called %d times, want once", starts)
			}
			if res.Preload == nil || res.Preload.Threads != 1 {
				t.Fatalf("preload: %+v", res.Preload)
			}
			checkClean(t, "preload", res.Preload, 200)
			checkClean(t, "run", res, 900)
			for i, n := range res.ClientOps {
				if n != 300 {
					t.Fatalf("client %d did %d operations, want 300", i, n)
				}
			}
		})
	}
}

// TestYCSBPreloadFailureStopsPeers: when agent 0's preload fails (the
// records exist already, so every add is refused), the other agents are
// told to abort instead of waiting forever.
func TestYCSBPreloadFailureStopsPeers(t *testing.T) {
	b := startBench(t, Setup{Clients: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := workloadB(t, 50, 100)
	if _, err := b.Execute(ctx, w, ycsb.PhaseLoad, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	started := false
	_, err := b.Execute(ctx, w, ycsb.PhaseRun, RunOptions{Preload: true, Started: func() { started = true }})
	if !errors.Is(err, errPreloadFailed) {
		t.Fatalf("got %v, want %v", err, errPreloadFailed)
	}
	if started {
		t.Fatal("Started was called after a failed preload")
	}
}

func TestSetupRejected(t *testing.T) {
	for _, s := range []Setup{{Clients: 0}, {Clients: MaxClients + 1}, {Clients: 1, Threads: -1}, {Clients: 1, Threads: 1000},
		{Clients: 1, Window: -1}, {Clients: 1, Window: ycsb.MaxWindow + 1}, {Clients: 1, Threads: 2, Window: 4},
		{Clients: 1, Window: 4, Protocol: client.Text}} {
		if _, err := Start(s); !errors.Is(err, ErrSetup) {
			t.Errorf("Start(%+v) = %v, want ErrSetup", s, err)
		}
	}
}

// TestBadCacheArgs: a cache agent that cannot start fails Start cleanly
// (goleak checks nothing is left running).
func TestBadCacheArgs(t *testing.T) {
	b, err := Start(Setup{Clients: 2, CacheArgs: []string{"-m", "lots"}})
	if err == nil {
		b.Close()
		t.Fatal("Start with -m lots succeeded")
	}
}

func TestExecuteAfterClose(t *testing.T) {
	b, err := Start(Setup{Clients: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Execute(context.Background(), workloadB(t, 10, 10), ycsb.PhaseLoad, RunOptions{}); err == nil {
		t.Fatal("Execute after Close succeeded")
	}
}
