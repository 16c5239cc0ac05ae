package ycsb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// logDB records every call a blocking client makes, in order.
type logDB struct {
	*memDB
	log []string
}

func (l *logDB) Read(ctx context.Context, key string) ([]byte, error) {
	l.log = append(l.log, "read "+key)
	return l.memDB.Read(ctx, key)
}

func (l *logDB) Insert(ctx context.Context, key string, value []byte) error {
	l.log = append(l.log, fmt.Sprintf("insert %s %q", key, value))
	return l.memDB.Insert(ctx, key, value)
}

func (l *logDB) Update(ctx context.Context, key string, value []byte) error {
	l.log = append(l.log, fmt.Sprintf("update %s %q", key, value))
	return l.memDB.Update(ctx, key, value)
}

// serve answers a pipelined call from db, as a driver's server would.
func serve(db *memDB, call *Call) Status {
	var err error
	switch call.Op {
	case OpRead:
		_, err = db.Read(context.Background(), string(call.Key))
	case OpInsert:
		err = db.Insert(context.Background(), string(call.Key), call.Value)
	case OpUpdate:
		err = db.Update(context.Background(), string(call.Key), call.Value)
	}
	return status(err)
}

func callLine(call *Call) string {
	switch call.Op {
	case OpRead:
		return "read " + string(call.Key)
	case OpInsert:
		return fmt.Sprintf("insert %s %q", call.Key, call.Value)
	}
	return fmt.Sprintf("update %s %q", call.Key, call.Value)
}

var mixProps = Properties{
	"recordcount": "200", "operationcount": "3000", "requestdistribution": "zipfian",
	"readproportion": "0.6", "updateproportion": "0.1", "insertproportion": "0.1", "scanproportion": "0.1",
	"readmodifywriteproportion": "0.1",
	"fieldcount":                "2", "fieldlength": "16",
}

// TestPipelineWindowOneIsTheBlockingClient: with a window of one, a
// pipelined client makes exactly the blocking client's calls (operations,
// keys, values) in the same order, so the two models run the same
// workload.
func TestPipelineWindowOneIsTheBlockingClient(t *testing.T) {
	w := mustWorkload(t, mixProps)
	for _, phase := range []Phase{PhaseLoad, PhaseRun} {
		t.Run(phase.String(), func(t *testing.T) {
			blocking := &logDB{memDB: newMemDB()}
			piped := newMemDB()
			if phase == PhaseRun {
				preload(t, w, blocking.memDB)
				preload(t, w, piped)
			}
			plan, err := NewPlan(w, phase, 1, PlanOptions{Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			if err := plan.RunClient(context.Background(), 0, blocking); err != nil {
				t.Fatal(err)
			}
			plan2, _ := NewPlan(w, phase, 1, PlanOptions{Seed: 9})
			q, err := plan2.Pipeline(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			var log []string
			for !q.Finished() {
				call, wait := q.Next(time.Now())
				if call == nil || wait != 0 {
					t.Fatalf("Next = %v, %v with nothing outstanding", call, wait)
				}
				if c2, _ := q.Next(time.Now()); c2 != nil {
					t.Fatal("window of one gave a second call")
				}
				// A read-modify-write's read returns its update.
				for call != nil {
					log = append(log, callLine(call))
					call = q.Done(call, time.Now(), serve(piped, call))
				}
			}
			q.Close()
			if strings.Join(log, "\n") != strings.Join(blocking.log, "\n") {
				t.Fatalf("pipelined calls differ from the blocking client's (%d vs %d calls)", len(log), len(blocking.log))
			}
			a, b := plan.Result(), plan2.Result()
			for op := range numOps {
				if (a.Ops[op] == nil) != (b.Ops[op] == nil) || a.Ops[op] != nil && a.Ops[op].Count != b.Ops[op].Count {
					t.Fatalf("%s measured differently", Op(op))
				}
			}
			if b.Interrupted || b.TotalOps() != a.TotalOps() {
				t.Fatalf("pipelined: %d ops, interrupted %v", b.TotalOps(), b.Interrupted)
			}
		})
	}
}

func preload(t *testing.T, w *Workload, db *memDB) {
	t.Helper()
	plan, _ := NewPlan(w, PhaseLoad, 1, PlanOptions{})
	if err := plan.RunClient(context.Background(), 0, db); err != nil {
		t.Fatal(err)
	}
}

// TestPipelineWindow drives a window of 16 answering calls in random
// order: the window is never exceeded, every transaction is measured
// once, read-modify-writes send their update only after their read, and
// run-phase inserts become readable once acknowledged.
func TestPipelineWindow(t *testing.T) {
	p := Properties{"readmodifywriteproportion": "0.2", "readproportion": "0.5"}
	for k, v := range mixProps {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	w := mustWorkload(t, p)
	db := newMemDB()
	preload(t, w, db)
	plan, _ := NewPlan(w, PhaseRun, 2, PlanOptions{Seed: 4})
	q, err := plan.Pipeline(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var out []*Call
	reads := map[*Call]bool{} // read-modify-writes whose read is out
	for !q.Finished() {
		for {
			call, _ := q.Next(time.Now())
			if call == nil {
				break
			}
			out = append(out, call)
		}
		if len(out) > 16 || q.Outstanding() != len(out) {
			t.Fatalf("%d calls out, Outstanding %d", len(out), q.Outstanding())
		}
		if len(out) == 0 {
			t.Fatal("nothing outstanding and not finished")
		}
		i := rnd.IntN(len(out))
		call := out[i]
		out = append(out[:i], out[i+1:]...)
		st := serve(db, call)
		if call.Op == OpRead && st != StatusOK {
			t.Fatalf("read of %s: %s (keys read must exist)", call.Key, st)
		}
		wasRead := call.Op == OpRead
		if next := q.Done(call, time.Now(), st); next != nil {
			if !wasRead || next.Op != OpUpdate || reads[next] {
				t.Fatalf("follow-up %v after %v", next.Op, wasRead)
			}
			reads[next] = true
			out = append(out, next)
		} else {
			delete(reads, call)
		}
	}
	q.Close()
	res := plan.Result()
	if res.ClientOps[1] != 1500 || res.Interrupted {
		t.Fatalf("%d transactions, interrupted %v", res.ClientOps[1], res.Interrupted)
	}
	rmw := res.Ops[OpReadModifyWrite]
	if rmw == nil || rmw.Count == 0 || res.Ops[OpRead].Count < rmw.Count || res.Ops[OpUpdate].Count < rmw.Count {
		t.Fatalf("read-modify-writes not measured with their halves: %+v", rmw)
	}
	txns := res.Ops[OpRead].Count + res.Ops[OpUpdate].Count - rmw.Count + res.Ops[OpInsert].Count + res.Ops[OpScan].Count
	if txns != 1500 {
		t.Fatalf("%d transactions measured, want 1500", txns)
	}
	if res.Ops[OpRead].Returns[StatusOK] != res.Ops[OpRead].Count {
		t.Fatalf("reads: %v", res.Ops[OpRead].Returns)
	}
}

// TestPipelineAbandonAndClose: calls abandoned count as errors, and a
// pipeline closed before the end of its share is interrupted and starts
// nothing more.
func TestPipelineAbandonAndClose(t *testing.T) {
	w := mustWorkload(t, Properties{"recordcount": "10", "operationcount": "100", "readproportion": "1"})
	plan, _ := NewPlan(w, PhaseRun, 1, PlanOptions{})
	q, _ := plan.Pipeline(0, 4)
	var out []*Call
	for call, _ := q.Next(time.Now()); call != nil; call, _ = q.Next(time.Now()) {
		out = append(out, call)
	}
	if len(out) != 4 {
		t.Fatalf("%d calls for a window of 4", len(out))
	}
	for _, c := range out {
		q.Abandon(c, time.Now())
	}
	q.Close()
	if call, _ := q.Next(time.Now()); call != nil {
		t.Fatal("Next after Close gave a call")
	}
	res := plan.Result()
	if res.Overall.Errors() != 4 || res.TotalOps() != 4 || !res.Interrupted {
		t.Fatalf("%d errors of %d ops, interrupted %v", res.Overall.Errors(), res.TotalOps(), res.Interrupted)
	}
}

// TestPipelineThrottle: with a target, Next holds transactions back and
// says for how long; the wait is YCSB's schedule, start + i × 1/target.
func TestPipelineThrottle(t *testing.T) {
	w := mustWorkload(t, Properties{"recordcount": "10", "operationcount": "100", "readproportion": "1"})
	plan, _ := NewPlan(w, PhaseRun, 1, PlanOptions{Target: 10}) // one every 100 ms
	q, _ := plan.Pipeline(0, 8)
	now := time.Now()
	first, wait := q.Next(now)
	if first == nil || wait != 0 {
		t.Fatalf("first call: %v, wait %v", first, wait)
	}
	call, wait := q.Next(now)
	if call != nil || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("second call at once: %v, wait %v", call, wait)
	}
	if call, _ := q.Next(now.Add(wait)); call == nil {
		t.Fatal("no call after the wait")
	}
	q.Close()
}

func TestPipelineRejects(t *testing.T) {
	w := mustWorkload(t, Properties{"recordcount": "10", "operationcount": "10"})
	plan, _ := NewPlan(w, PhaseRun, 1, PlanOptions{})
	for _, window := range []int{0, -1, MaxWindow + 1} {
		if _, err := plan.Pipeline(0, window); !errors.Is(err, ErrBadWorkload) {
			t.Errorf("window %d: %v", window, err)
		}
	}
	if _, err := plan.Pipeline(1, 1); err == nil {
		t.Error("client 1 of 1 accepted")
	}
	q, err := plan.Pipeline(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := plan.Pipeline(0, 1); err == nil {
		t.Error("client 0 ran twice")
	}
}

// TestCheckRecord accepts what appendRecord writes and rejects the rest.
func TestCheckRecord(t *testing.T) {
	for _, dist := range []string{"constant", "uniform", "zipfian"} {
		w := mustWorkload(t, Properties{"fieldcount": "12", "fieldlength": "30", "minfieldlength": "5", "fieldlengthdistribution": dist})
		rnd := rand.New(rand.NewPCG(7, 7))
		gen := w.fieldLengthGen()
		for i := range 200 {
			fields := []int{i % 12}
			if i%2 == 0 {
				fields = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
			}
			v := w.appendRecord(nil, rnd, gen, fields)
			if err := w.CheckRecord(v); err != nil {
				t.Fatalf("%s: %s: %v", dist, v, err)
			}
		}
	}
	w := mustWorkload(t, Properties{"fieldcount": "2", "fieldlength": "4"})
	for _, bad := range []string{
		``, `{}`, `{"field0":"abcd"`, `{"field0":"abc"}`, `{"field0":"abcde"}`, `{"field2":"abcd"}`,
		`{"field0":"abcd","field0":"abcd"}`, `{"field0":"abcd","field1":"abcd","field1":"abcd"}`,
		`{"field00":"abcd"}`, `{"field-1":"abcd"}`, `{"feld0":"abcd"}`, `{"field0":"ab"d"}`,
		`{"field0":"abcd";"field1":"abcd"}`, `{"field0":"abcd",}`, `{"field0"}`, `{"field0":}`,
		`[]`, `{"field0":"abcd"}x`,
	} {
		if err := w.CheckRecord([]byte(bad)); !errors.Is(err, ErrBadRecord) {
			t.Errorf("CheckRecord(%s) = %v", bad, err)
		}
	}
	if err := w.CheckRecord([]byte(`{"field1":"abcd","field0":"wxyz"}`)); err != nil {
		t.Error(err)
	}
}

// TestRandomValueMatchesReference: the two-symbols-at-a-time value writer
// makes exactly the bytes of the plain one (symbol k of a draw from bits
// 6k..6k+5, ten per draw), for every length around the ten-byte steps.
func TestRandomValueMatchesReference(t *testing.T) {
	reference := func(dst []byte, r *rand.Rand, n int64) []byte {
		for n > 0 {
			u := r.Uint64()
			for k := 0; k < 10 && n > 0; k++ {
				dst = append(dst, valueAlphabet[u&63])
				u >>= 6
				n--
			}
		}
		return dst
	}
	for n := range int64(64) {
		got := appendRandomValue([]byte("p"), rand.New(rand.NewPCG(3, uint64(n))), n)
		want := reference([]byte("p"), rand.New(rand.NewPCG(3, uint64(n))), n)
		if string(got) != string(want) {
			t.Fatalf("n=%d: %q, want %q", n, got, want)
		}
	}
}
