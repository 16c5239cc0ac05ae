package ycsb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// PlanOptions are the parts of Options a Plan needs.
type PlanOptions struct {
	Target    float64 // total ops/s across clients; 0 = unthrottled
	Seed      uint64
	SliceKeys bool
}

// Plan is one phase divided among clients that run apart from each other:
// Execute's goroutines, or YCSB client agents that each run one client.
// The clients share only the insert acknowledgements (as YCSB's threads
// share its transaction insert key sequence); each records its own
// measurements, which Result merges once every client has finished.
type Plan struct {
	w       *Workload
	phase   Phase
	total   int64
	clients []*client
	done    atomic.Int64

	mu     sync.Mutex
	begin  time.Time // earliest client start
	end    time.Time // latest client finish
	ran    []bool
	timing bool
}

// NewPlan divides phase of w among n clients.
func NewPlan(w *Workload, phase Phase, n int, o PlanOptions) (*Plan, error) {
	if n < 1 {
		return nil, badf("threads must be at least 1")
	}
	p := &Plan{w: w, phase: phase, total: w.OperationCount, ran: make([]bool, n)}
	if phase == PhaseLoad {
		p.total = w.InsertCount
	}
	// The run phase's inserts continue after the loaded records; readers
	// only pick keys whose insert has been acknowledged.
	acks := NewAckCounter(w.RecordCount)
	// YCSB's threads share one key chooser. Only the sequential one has
	// state that sharing changes: shared, the threads walk the records
	// once between them, where walkers of their own would each repeat the
	// first records. The others are built per client, so drawing a key
	// never waits on another client.
	var shared Generator
	for i := range n {
		c := &client{
			w: w, phase: phase, acks: acks,
			rnd:     rand.New(rand.NewPCG(o.Seed, uint64(i)+1)),
			lengths: w.fieldLengthGen(),
			ops:     w.opChooser(),
		}
		_, c.todo = share(p.total, n, i)
		if phase == PhaseLoad {
			start, _ := share(w.InsertCount, n, i)
			c.next = w.InsertStart + start
		} else {
			start, count := w.InsertStart, w.InsertCount
			if o.SliceKeys {
				s, k := share(w.InsertCount, n, i)
				start, count = w.InsertStart+s, k
			}
			kc := shared
			if kc == nil {
				var err error
				if kc, err = w.keyChooser(start, count, acks); err != nil {
					return nil, err
				}
				if w.RequestDistribution == "sequential" && !o.SliceKeys {
					shared = kc
				}
			}
			c.keys = kc
		}
		if o.Target > 0 {
			c.tick = time.Duration(float64(time.Second) * float64(n) / o.Target)
		}
		p.clients = append(p.clients, c)
	}
	return p, nil
}

// Clients is the number of clients the phase is divided among.
func (p *Plan) Clients() int { return len(p.clients) }

// Phase is the phase planned.
func (p *Plan) Phase() Phase { return p.phase }

// Total is the number of operations planned across clients.
func (p *Plan) Total() int64 { return p.total }

// Done is the number of operations finished so far, across clients.
func (p *Plan) Done() int64 { return p.done.Load() }

// RunClient runs client i's share of the phase against db. Each client
// runs once, from any goroutine; clients run concurrently.
func (p *Plan) RunClient(ctx context.Context, i int, db DB) error {
	c, _, err := p.claim(i)
	if err != nil {
		return err
	}
	c.db = db
	c.run(ctx, &p.done)
	p.ended(time.Now())
	return nil
}

// claim marks client i as running (each runs once) and starts the phase's
// clock if it is the first; it returns the client and its start time.
func (p *Plan) claim(i int) (*client, time.Time, error) {
	if i < 0 || i >= len(p.clients) {
		return nil, time.Time{}, fmt.Errorf("ycsb: client %d of %d", i, len(p.clients))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ran[i] {
		return nil, time.Time{}, fmt.Errorf("ycsb: client %d already ran", i)
	}
	p.ran[i] = true
	now := time.Now()
	if !p.timing || now.Before(p.begin) {
		p.begin, p.timing = now, true
	}
	return p.clients[i], now, nil
}

// ended records that a client finished at end: the phase lasts until its
// last client ends.
func (p *Plan) ended(end time.Time) {
	p.mu.Lock()
	if end.After(p.end) {
		p.end = end
	}
	p.mu.Unlock()
}

// Result merges the clients' measurements. Call it after every RunClient
// has returned. RunTime spans the first client's start to the last one's
// finish.
func (p *Plan) Result() *Result {
	p.mu.Lock()
	runTime := p.end.Sub(p.begin)
	p.mu.Unlock()
	res := &Result{Phase: p.phase, Threads: len(p.clients), RunTime: max(runTime, 0), Overall: newOpStats()}
	for _, c := range p.clients {
		res.ClientTimes = append(res.ClientTimes, c.elapsed)
		res.ClientOps = append(res.ClientOps, c.count)
		for op, s := range c.m.ops {
			if s == nil {
				continue
			}
			if res.Ops[op] == nil {
				res.Ops[op] = newOpStats()
			}
			res.Ops[op].merge(s)
			res.Overall.merge(s)
		}
		if c.stopped {
			res.Interrupted = true
		}
	}
	return res
}
