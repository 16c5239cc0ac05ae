package ycsb

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// memDB is an in-memory store that checks what the workload sends.
type memDB struct {
	mu   sync.Mutex
	data map[string][]byte
	ops  map[string]int
}

func newMemDB() *memDB { return &memDB{data: map[string][]byte{}, ops: map[string]int{}} }

func (m *memDB) Read(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops["read"]++
	v, ok := m.data[key]
	if !ok {
		return nil, ErrNotFound
	}
	return v, nil
}

func (m *memDB) Insert(_ context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops["insert"]++
	m.data[key] = bytes.Clone(value)
	return nil
}

func (m *memDB) Update(ctx context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops["update"]++
	m.data[key] = bytes.Clone(value)
	return nil
}

func mustWorkload(t *testing.T, p Properties) *Workload {
	t.Helper()
	w, err := NewWorkload(p)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestLoadThenRun(t *testing.T) {
	db := newMemDB()
	w := mustWorkload(t, Properties{
		"recordcount": "500", "operationcount": "2000", "requestdistribution": "zipfian",
		"fieldcount": "3", "fieldlength": "20",
	})
	opts := Options{Threads: 3, NewDB: func(int) (DB, error) { return db, nil }}
	opts.Phase = PhaseLoad
	load, err := Execute(context.Background(), w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if load.TotalOps() != 500 || len(db.data) != 500 {
		t.Fatalf("load: %d ops, %d records, want 500", load.TotalOps(), len(db.data))
	}
	for k := range 500 {
		v, ok := db.data[KeyName(int64(k), 1, false)]
		if !ok {
			t.Fatalf("record %d missing", k)
		}
		var rec map[string]string
		if err := json.Unmarshal(v, &rec); err != nil || len(rec) != 3 || len(rec["field2"]) != 20 {
			t.Fatalf("record %d = %s (%v)", k, v, err)
		}
	}
	opts.Phase = PhaseRun
	run, err := Execute(context.Background(), w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if run.TotalOps() != 2000 {
		t.Fatalf("run: %d ops, want 2000", run.TotalOps())
	}
	reads := run.Ops[OpRead]
	if reads == nil || reads.Returns[StatusOK] != reads.Count || reads.Count < 1800 {
		t.Errorf("reads: %+v", reads)
	}
	if run.ThesisThroughput() <= 0 || run.Throughput() <= 0 || len(run.ClientTimes) != 3 {
		t.Errorf("throughput %v / %v, client times %v", run.Throughput(), run.ThesisThroughput(), run.ClientTimes)
	}

	var text bytes.Buffer
	if err := run.WriteText(&text, w.HistogramPercents, DefaultCILevel); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"[OVERALL], RunTime(ms), ", "[OVERALL], Throughput(ops/sec), ",
		"[READ], Operations, ", "[READ], AverageLatency(us), ", "[READ], 95thPercentileLatency(us), ",
		"[READ], 99.9PercentileLatency(us), ", "[READ], Return=OK, ", "[UPDATE], Operations, ",
		"[READ], MeanLatencyCI96%HalfWidth(us), ",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := run.WriteJSON(&js, w.HistogramPercents, DefaultCILevel); err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(js.Bytes(), &s); err != nil || s.Overall.Operations != 2000 {
		t.Errorf("json summary: %v %+v", err, s.Overall)
	}
	var csvOut bytes.Buffer
	if err := run.WriteCSV(&csvOut, w.HistogramPercents, DefaultCILevel); err != nil || !strings.HasPrefix(csvOut.String(), "section,metric,value\n") {
		t.Errorf("csv: %v %q", err, csvOut.String())
	}
}

func TestPreloadAndSlices(t *testing.T) {
	db := newMemDB()
	w := mustWorkload(t, Properties{
		"recordcount": "300", "operationcount": "900", "readproportion": "1", "updateproportion": "0",
		"requestdistribution": "uniform", "insertorder": "ordered", "zeropadding": "4",
	})
	var mu sync.Mutex
	perClient := map[int]*memDB{}
	run, err := Execute(context.Background(), w, Options{
		Phase: PhaseRun, Threads: 3, Preload: true, SliceKeys: true,
		NewDB: func(i int) (DB, error) {
			// Each client sees the shared data through its own recorder.
			mu.Lock()
			defer mu.Unlock()
			perClient[i] = db
			return &sliceDB{memDB: db, client: i, t: t}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Preload == nil || run.Preload.TotalOps() != 300 || run.Preload.Threads != 1 {
		t.Fatalf("preload: %+v", run.Preload)
	}
	if run.Ops[OpRead].Returns[StatusOK] != 900 {
		t.Errorf("reads: %v", run.Ops[OpRead].Returns)
	}
}

// sliceDB checks that, with SliceKeys, client i reads only keys in its
// third of the record space ("user0000".."user0099" for client 0).
type sliceDB struct {
	*memDB
	client int
	t      *testing.T
}

func (s *sliceDB) Read(ctx context.Context, key string) ([]byte, error) {
	lo, hi := KeyName(int64(s.client*100), 4, true), KeyName(int64(s.client*100+99), 4, true)
	if key < lo || key > hi {
		s.t.Errorf("client %d read %s outside [%s, %s]", s.client, key, lo, hi)
	}
	return s.memDB.Read(ctx, key)
}

func TestScanIsNotImplemented(t *testing.T) {
	db := newMemDB()
	w := mustWorkload(t, Properties{"recordcount": "10", "operationcount": "50", "readproportion": "0", "updateproportion": "0", "scanproportion": "1"})
	run, err := Execute(context.Background(), w, Options{Phase: PhaseRun, Threads: 1, NewDB: func(int) (DB, error) { return db, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if got := run.Ops[OpScan].Returns[StatusNotImplemented]; got != 50 {
		t.Errorf("scans NOT_IMPLEMENTED = %d, want 50", got)
	}
}

// TestTargetThrottles checks the throttle's lower bound: 40 operations at
// 200 ops/s cannot finish in less than (40-1)/200 s.
func TestTargetThrottles(t *testing.T) {
	db := newMemDB()
	w2 := mustWorkload(t, Properties{"recordcount": "10", "operationcount": "40", "readproportion": "1", "updateproportion": "0"})
	start := time.Now()
	if _, err := Execute(context.Background(), w2, Options{Phase: PhaseRun, Threads: 2, Target: 200, NewDB: func(int) (DB, error) { return db, nil }}); err != nil {
		t.Fatal(err)
	}
	// Each client does 20 ops with a 10 ms tick: the last starts at 190 ms.
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("throttled run took %v, want at least 190ms", d)
	}
}

func TestReadModifyWrite(t *testing.T) {
	db := newMemDB()
	w := mustWorkload(t, Properties{"recordcount": "20", "operationcount": "100", "readproportion": "0",
		"updateproportion": "0", "readmodifywriteproportion": "1", "requestdistribution": "uniform"})
	opts := Options{Phase: PhaseLoad, Threads: 1, NewDB: func(int) (DB, error) { return db, nil }}
	if _, err := Execute(context.Background(), w, opts); err != nil {
		t.Fatal(err)
	}
	opts.Phase = PhaseRun
	run, err := Execute(context.Background(), w, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []Op{OpRead, OpUpdate, OpReadModifyWrite} {
		if s := run.Ops[op]; s == nil || s.Count != 100 || s.Returns[StatusOK] != 100 {
			t.Errorf("%v: %+v", op, s)
		}
	}
	if db.ops["read"] != 100 || db.ops["update"] != 100 {
		t.Errorf("db saw %v", db.ops)
	}
	// YCSB counts a transaction once (opsDone), though three are measured.
	if run.TotalOps() != 100 || run.Overall.Count != 300 {
		t.Errorf("TotalOps %d, Overall.Count %d, want 100, 300", run.TotalOps(), run.Overall.Count)
	}
}

func TestCancelStopsRun(t *testing.T) {
	db := newMemDB()
	w := mustWorkload(t, Properties{"recordcount": "10", "operationcount": "1000000", "target": "100"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, err := Execute(ctx, w, Options{Phase: PhaseRun, Threads: 1, NewDB: func(int) (DB, error) { return db, nil }})
	if err == nil || res == nil || res.TotalOps() >= 1000000 {
		t.Fatalf("err = %v, res = %+v", err, res)
	}
}
