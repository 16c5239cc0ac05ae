package ycsb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Phase is YCSB's -load or -t.
type Phase int

// The two phases of a YCSB run.
const (
	PhaseLoad Phase = iota
	PhaseRun
)

func (p Phase) String() string {
	if p == PhaseLoad {
		return "load"
	}
	return "run"
}

// Options say how to drive a workload.
type Options struct {
	Phase   Phase
	Threads int     // client goroutines; 0 takes the workload's threadcount
	Target  float64 // total ops/s across clients; 0 takes the workload's target (0 = unthrottled)
	Seed    uint64  // random seed; clients use Seed+client

	// Preload is the thesis's coordination (§5.1.1): before a run phase,
	// client 0 alone loads every record, then signals the others and all
	// clients start their operations together.
	Preload bool
	// SliceKeys gives each client its own contiguous slice of the record
	// space to draw keys from, instead of all clients sharing it.
	SliceKeys bool

	// NewDB opens client i's connection to the store.
	NewDB func(client int) (DB, error)
	// Progress, if set, is called about once a second with the operations
	// done so far and the total planned.
	Progress func(done, total int64, elapsed time.Duration)
}

// Result is a finished phase's measurements.
type Result struct {
	Phase       Phase
	Threads     int
	RunTime     time.Duration   // wall time of the phase, as YCSB's RunTime
	ClientTimes []time.Duration // each client's own running time
	ClientOps   []int64
	Ops         [numOps]*OpStats // nil where the operation never ran
	Overall     *OpStats         // every measurement together (more than TotalOps with read-modify-writes)
	Preload     *Result          // the preload, when Options.Preload was set
	Interrupted bool             // stopped by maxexecutiontime
}

// TotalOps is the number of operations the clients did, counted as YCSB
// counts them (each ClientThread's opsDone): one per transaction, so a
// read-modify-write counts once although its read and its update are
// also measured on their own. Both throughputs divide this number.
func (r *Result) TotalOps() int64 {
	var n int64
	for _, c := range r.ClientOps {
		n += c
	}
	return n
}

// Throughput is YCSB's: operations divided by the phase's wall time.
func (r *Result) Throughput() float64 {
	if r.RunTime <= 0 {
		return 0
	}
	return float64(r.TotalOps()) / r.RunTime.Seconds()
}

// ThesisThroughput is the thesis's: total operations divided by the
// running time of the slowest client (§5.2).
func (r *Result) ThesisThroughput() float64 {
	var longest time.Duration
	for _, d := range r.ClientTimes {
		longest = max(longest, d)
	}
	if longest <= 0 {
		return 0
	}
	return float64(r.TotalOps()) / longest.Seconds()
}

// share splits n into parts as even as possible; part i gets the remainder
// first, as YCSB's Client does.
func share(n int64, parts, i int) (start, count int64) {
	base, rem := n/int64(parts), n%int64(parts)
	start = int64(i)*base + min(int64(i), rem)
	count = base
	if int64(i) < rem {
		count++
	}
	return start, count
}

// Execute runs one phase of w against the store.
func Execute(ctx context.Context, w *Workload, opts Options) (*Result, error) {
	if opts.NewDB == nil {
		return nil, errors.New("ycsb: Options.NewDB is nil")
	}
	threads := opts.Threads
	if threads == 0 {
		threads = w.Threads
	}
	if threads < 1 {
		return nil, badf("threads must be at least 1")
	}
	target := opts.Target
	if target == 0 {
		target = w.TargetOpsPerSec
	}
	if w.MaxExecutionTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(w.MaxExecutionTime)*time.Second)
		defer cancel()
	}

	dbs := make([]DB, threads)
	for i := range dbs {
		db, err := opts.NewDB(i)
		if err != nil {
			return nil, fmt.Errorf("ycsb: client %d: %w", i, err)
		}
		dbs[i] = db
	}

	var preload *Result
	if opts.Phase == PhaseRun && opts.Preload {
		var err error
		preload, err = execute(ctx, w, opts, PhaseLoad, dbs[:1], 0)
		if err != nil {
			return nil, fmt.Errorf("ycsb: preload: %w", err)
		}
	}
	res, err := execute(ctx, w, opts, opts.Phase, dbs, target)
	if res != nil {
		res.Preload = preload
	}
	return res, err
}

func execute(ctx context.Context, w *Workload, opts Options, phase Phase, dbs []DB, target float64) (*Result, error) {
	plan, err := NewPlan(w, phase, len(dbs), PlanOptions{Target: target, Seed: opts.Seed, SliceKeys: opts.SliceKeys})
	if err != nil {
		return nil, err
	}
	stopProgress := make(chan struct{})
	var progressWG sync.WaitGroup
	begin := time.Now()
	if opts.Progress != nil {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					opts.Progress(plan.Done(), plan.Total(), time.Since(begin))
				}
			}
		}()
	}

	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() { plan.RunClient(ctx, i, db) })
	}
	wg.Wait()
	res := plan.Result()
	close(stopProgress)
	progressWG.Wait()
	if opts.Progress != nil {
		opts.Progress(plan.Done(), plan.Total(), res.RunTime)
	}
	if ctx.Err() != nil && w.MaxExecutionTime == 0 {
		return res, fmt.Errorf("ycsb: %s phase stopped: %w", phase, context.Cause(ctx))
	}
	return res, nil
}
