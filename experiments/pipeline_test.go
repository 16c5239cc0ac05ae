package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/ycsb"
)

// mixedWorkload has every operation a memcached binding supports, so the
// pipelined client's reads, updates, inserts and read-modify-writes (and
// scans, which never reach the cache) all run.
func mixedWorkload(t testing.TB, records, ops int) *ycsb.Workload {
	return newWorkload(t, records, ops, ycsb.Properties{
		"readproportion": "0.6", "updateproportion": "0.1", "insertproportion": "0.1",
		"readmodifywriteproportion": "0.15", "scanproportion": "0.05",
		"requestdistribution": "zipfian", "fieldcount": "3", "fieldlength": "100",
		"fieldlengthdistribution": "uniform",
	})
}

// cacheStats reads the cache agent's counters through client agent a's
// blocking client.
func cacheStats(t *testing.T, a *ClientAgent) map[string]int64 {
	t.Helper()
	var all map[string]map[string]string
	if err := inAgent(t, a, func() (err error) {
		all, err = a.Client().Stats(context.Background(), "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, st := range all {
		for k, v := range st {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] += n
			}
		}
	}
	return out
}

// TestPipelinedEveryCallAnswered: the pipelined model's transactions all
// end, each counted once, and the cache saw exactly the calls the
// measurements count (its get, add and replace counters), so no call was
// lost, doubled or answered by another's response. Reads must hit: every
// key read exists, so a miss would be a wrong answer.
func TestPipelinedEveryCallAnswered(t *testing.T) {
	for _, m := range trustModes {
		t.Run(m.name, func(t *testing.T) {
			b := startBench(t, Setup{Clients: 3, Trusted: m.trusted, Window: 32})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			w := mixedWorkload(t, 500, 6000)
			load, err := b.Execute(ctx, w, ycsb.PhaseLoad, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, "load", load, 500)
			before := cacheStats(t, b.Agents()[0])
			run, err := b.Execute(ctx, w, ycsb.PhaseRun, RunOptions{PlanOptions: ycsb.PlanOptions{Seed: 3}})
			if err != nil {
				t.Fatal(err)
			}
			after := cacheStats(t, b.Agents()[0])
			if run.TotalOps() != 6000 || run.Interrupted {
				t.Fatalf("run: %d operations, interrupted %v", run.TotalOps(), run.Interrupted)
			}
			count := func(op ycsb.Op, st ycsb.Status) int64 {
				if run.Ops[op] == nil {
					t.Fatalf("no %s measured", op)
				}
				return run.Ops[op].Returns[st]
			}
			var txns int64
			for _, op := range []ycsb.Op{ycsb.OpRead, ycsb.OpUpdate, ycsb.OpInsert, ycsb.OpReadModifyWrite} {
				s := run.Ops[op]
				if s == nil || s.Returns[ycsb.StatusOK] != s.Count {
					t.Fatalf("%s: %+v", op, s)
				}
			}
			// Reads and updates include the read-modify-writes' halves.
			rmw := count(ycsb.OpReadModifyWrite, ycsb.StatusOK)
			txns = count(ycsb.OpRead, ycsb.StatusOK) - rmw + count(ycsb.OpUpdate, ycsb.StatusOK) - rmw +
				count(ycsb.OpInsert, ycsb.StatusOK) + rmw + count(ycsb.OpScan, ycsb.StatusNotImplemented)
			if txns != 6000 {
				t.Fatalf("%d transactions measured, want 6000", txns)
			}
			delta := func(k string) int64 { return after[k] - before[k] }
			if got, want := delta("get_hits"), count(ycsb.OpRead, ycsb.StatusOK); got != want || delta("get_misses") != 0 {
				t.Errorf("cache: %d get hits, %d misses; client: %d reads", got, delta("get_misses"), want)
			}
			// Stores are adds and replaces; cmd_set counts both.
			if got, want := delta("cmd_set"), count(ycsb.OpUpdate, ycsb.StatusOK)+count(ycsb.OpInsert, ycsb.StatusOK); got != want {
				t.Errorf("cache: %d stores, client: %d updates and inserts", got, want)
			}
		})
	}
}

// TestPipelinedBatchesMessages: with a window, many operations share each
// Diggi message; with a window of one, each request travels alone.
func TestPipelinedBatchesMessages(t *testing.T) {
	for _, window := range []int{1, 32} {
		t.Run("window="+itoa(window), func(t *testing.T) {
			var toCache atomic.Int64
			var cache atomic.Uint64 // the cache agent's id, once known
			tap := diggi.RouterFunc(func(msg *diggi.Message, f diggi.Forwarder) {
				if msg.Type == diggi.TypeNetIO && uint64(msg.Dst) == cache.Load() {
					toCache.Add(1)
				}
				f.Forward(msg)
			})
			b := startBench(t, Setup{Clients: 1, Window: window, Router: tap})
			ctx, _ := b.Instance().Context(CacheName)
			cache.Store(uint64(ctx.ID()))
			w := workloadB(t, 100, 2000)
			if _, err := b.Execute(context.Background(), w, ycsb.PhaseLoad, RunOptions{}); err != nil {
				t.Fatal(err)
			}
			toCache.Store(0)
			res, err := b.Execute(context.Background(), w, ycsb.PhaseRun, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkClean(t, "run", res, 2000)
			n := toCache.Load()
			if window == 1 && n < 2000 {
				t.Errorf("window 1: %d messages to the cache for 2000 requests", n)
			}
			if window > 1 && n > 2000/4 {
				t.Errorf("window %d: %d messages to the cache for 2000 requests", window, n)
			}
		})
	}
}

// cacheTap is a router for tests that act on the cache agent's messages
// once armed.
type cacheTap struct {
	cache atomic.Uint64 // the cache agent's id
	armed atomic.Bool
	fn    func(m *diggi.Message) (drop bool) // sees the cache's socket messages while armed
}

func (c *cacheTap) Route(m *diggi.Message, f diggi.Forwarder) {
	if c.armed.Load() && m.Type == diggi.TypeNetIO && uint64(m.Src) == c.cache.Load() && c.fn(m) {
		diggi.Release(m)
		return
	}
	f.Forward(m)
}

// start starts a bench with the tap and loads w's records.
func (c *cacheTap) start(t *testing.T, s Setup, w *ycsb.Workload) *Bench {
	t.Helper()
	s.Router = c
	b := startBench(t, s)
	ctx, _ := b.Instance().Context(CacheName)
	c.cache.Store(uint64(ctx.ID()))
	if _, err := b.Execute(context.Background(), w, ycsb.PhaseLoad, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPipelinedBadValueIsError: a read whose value is not a record of the
// workload (here the first byte of the value turned into a quote in three
// of the cache's plaintext messages) ends as an ERROR, counted, and the
// run goes on.
func TestPipelinedBadValueIsError(t *testing.T) {
	var corrupted atomic.Int64
	field := []byte(`"field0":"`)
	tap := &cacheTap{fn: func(m *diggi.Message) bool {
		p := m.Payload()
		if i := bytes.Index(p, field); corrupted.Load() < 3 && i >= 0 && i+len(field) < len(p) && p[i+len(field)] != '"' {
			p[i+len(field)] = '"'
			corrupted.Add(1)
		}
		return false
	}}
	w := workloadB(t, 50, 500)
	b := tap.start(t, Setup{Clients: 1, Window: 8}, w)
	tap.armed.Store(true)
	res, err := b.Execute(context.Background(), w, ycsb.PhaseRun, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalOps() != 500 {
		t.Fatalf("%d operations, want 500", res.TotalOps())
	}
	if c := corrupted.Load(); c == 0 || res.Overall.Errors() != c {
		t.Fatalf("%d values corrupted, %d errors counted: %v", c, res.Overall.Errors(), res.Overall.Returns)
	}
}

// TestPipelinedStallEnds: when the cache stops answering (its messages
// carrying a value are dropped), the run ends with an error after the
// timeout instead of hanging, and the calls left unanswered count as
// errors.
func TestPipelinedStallEnds(t *testing.T) {
	tap := &cacheTap{fn: func(m *diggi.Message) bool { return len(m.Payload()) > 1024 }}
	w := workloadB(t, 50, 1000)
	b := tap.start(t, Setup{Clients: 2, Window: 4, Timeout: 200 * time.Millisecond}, w)
	tap.armed.Store(true)
	res, err := b.Execute(context.Background(), w, ycsb.PhaseRun, RunOptions{})
	if !errors.Is(err, errStalled) {
		t.Fatalf("got %v, want %v", err, errStalled)
	}
	// Each agent has 1 to 4 calls unanswered.
	if e := res.Overall.Errors(); !res.Interrupted || e < 2 || e > 8 {
		t.Fatalf("interrupted %v, %d errors: %v", res.Interrupted, e, res.Overall.Returns)
	}
}

// TestPipelinedCancel: cancelling a throttled pipelined run stops it
// cleanly (goleak checks its timers and tasks are gone).
func TestPipelinedCancel(t *testing.T) {
	b := startBench(t, Setup{Clients: 2, Window: 16})
	w := workloadB(t, 50, 1_000_000)
	if _, err := b.Execute(context.Background(), workloadB(t, 50, 50), ycsb.PhaseLoad, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var res *ycsb.Result
	var err error
	wg.Go(func() {
		res, err = b.Execute(ctx, w, ycsb.PhaseRun, RunOptions{PlanOptions: ycsb.PlanOptions{Target: 200}})
	})
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if !res.Interrupted || res.TotalOps() >= 1_000_000 {
		t.Fatalf("interrupted %v after %d operations", res.Interrupted, res.TotalOps())
	}
}

// TestPipelinedMaxExecutionTime: the workload's maxexecutiontime ends a
// pipelined run as it ends a blocking one: interrupted, not failed.
func TestPipelinedMaxExecutionTime(t *testing.T) {
	b := startBench(t, Setup{Clients: 2, Window: 8})
	w, err := ycsb.NewWorkload(ycsb.Properties{
		"recordcount": "50", "operationcount": "100000000", "maxexecutiontime": "1",
		"readproportion": "0.95", "updateproportion": "0.05", "fieldcount": "1", "fieldlength": "1024",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Execute(context.Background(), w, ycsb.PhaseLoad, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := b.Execute(context.Background(), w, ycsb.PhaseRun, RunOptions{PlanOptions: ycsb.PlanOptions{Target: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.TotalOps() == 0 || res.TotalOps() >= 100000000 {
		t.Fatalf("interrupted %v after %d operations", res.Interrupted, res.TotalOps())
	}
}

// TestPipelinedSpreadsOverCaches: with two cache agents, the pipelined
// model puts every record where the client library's ring says (the
// blocking client then finds each one, on the agent it names), both
// agents hold records, and a run's calls are all answered, each once.
func TestPipelinedSpreadsOverCaches(t *testing.T) {
	b := startBench(t, Setup{Clients: 2, Trusted: true, Window: 16, Caches: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const records = 400
	w := mixedWorkload(t, records, 3000)
	load, err := b.Execute(ctx, w, ycsb.PhaseLoad, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, "load", load, records)
	a := b.Agents()[0]
	perCache := map[string]int{}
	if err := inAgent(t, a, func() error {
		for i := range records {
			key := "usertable-" + string(ycsb.AppendKeyName(nil, int64(i), w.ZeroPadding, w.OrderedInserts))
			if _, err := a.Client().Get(ctx, key); err != nil {
				return fmt.Errorf("record %s: %w", key, err)
			}
			where, err := a.Client().ServerFor(key)
			if err != nil {
				return err
			}
			perCache[where]++
		}
		st, err := a.Client().Stats(ctx, "")
		if err != nil {
			return err
		}
		for addr, s := range st {
			if n, _ := strconv.Atoi(s["curr_items"]); n != perCache[addr] {
				return fmt.Errorf("%s holds %d items, the ring gives it %d", addr, n, perCache[addr])
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(perCache) != 2 {
		t.Fatalf("records per cache agent: %v; want both used", perCache)
	}
	before := cacheStats(t, a)
	run, err := b.Execute(ctx, w, ycsb.PhaseRun, RunOptions{PlanOptions: ycsb.PlanOptions{Seed: 5}})
	if err != nil {
		t.Fatal(err)
	}
	after := cacheStats(t, a)
	if run.TotalOps() != 3000 || run.Interrupted {
		t.Fatalf("run: %d operations, interrupted %v", run.TotalOps(), run.Interrupted)
	}
	for _, op := range []ycsb.Op{ycsb.OpRead, ycsb.OpUpdate, ycsb.OpInsert, ycsb.OpReadModifyWrite} {
		if s := run.Ops[op]; s == nil || s.Returns[ycsb.StatusOK] != s.Count {
			t.Fatalf("%s: %+v", op, s)
		}
	}
	reads := run.Ops[ycsb.OpRead].Returns[ycsb.StatusOK]
	if got := after["get_hits"] - before["get_hits"]; got != reads || after["get_misses"] != before["get_misses"] {
		t.Errorf("caches: %d get hits, %d misses; client: %d reads", got, after["get_misses"]-before["get_misses"], reads)
	}
	t.Logf("records per cache agent: %v", perCache)
}
