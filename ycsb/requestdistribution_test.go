package ycsb

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
)

// These tests run whole workloads, built from properties, and check the
// keys the run phase's operations choose against YCSB's CoreWorkload:
// its request distributions, over records [insertstart,
// insertstart+insertcount), with run-phase inserts continuing after
// recordcount. The generators' own tests are in generator_test.go.

// keyCall is one call a client made: the operation and the record number.
type keyCall struct {
	op string // "read", "update" or "insert"
	n  int64
}

// keyLogDB records the record numbers a client's calls name, in order.
type keyLogDB struct {
	db   *memDB
	nums map[string]int64
	mu   sync.Mutex
	log  []keyCall
}

func (k *keyLogDB) note(op, key string) {
	n, ok := k.nums[key]
	if !ok {
		n = -1 // not a key of the record space; the checks report it
	}
	k.mu.Lock()
	k.log = append(k.log, keyCall{op, n})
	k.mu.Unlock()
}

func (k *keyLogDB) Read(ctx context.Context, key string) ([]byte, error) {
	k.note("read", key)
	return k.db.Read(ctx, key)
}

func (k *keyLogDB) Insert(ctx context.Context, key string, value []byte) error {
	k.note("insert", key)
	return k.db.Insert(ctx, key, value)
}

func (k *keyLogDB) Update(ctx context.Context, key string, value []byte) error {
	k.note("update", key)
	return k.db.Update(ctx, key, value)
}

// keyNumbers maps the key names of records 0..limit-1 back to numbers.
func keyNumbers(w *Workload, limit int64) map[string]int64 {
	m := make(map[string]int64, limit)
	for n := range limit {
		m[KeyName(n, w.ZeroPadding, w.OrderedInserts)] = n
	}
	return m
}

// loadAndRun loads w, then runs its run phase with the given clients and
// seed, and returns each client's calls.
func loadAndRun(t *testing.T, w *Workload, clients int, sliceKeys bool) [][]keyCall {
	t.Helper()
	db := newMemDB()
	if _, err := Execute(context.Background(), w, Options{Phase: PhaseLoad, Threads: 1, NewDB: func(int) (DB, error) { return db, nil }}); err != nil {
		t.Fatal(err)
	}
	nums := keyNumbers(w, w.RecordCount+w.OperationCount)
	logs := make([]*keyLogDB, clients)
	for i := range logs {
		logs[i] = &keyLogDB{db: db, nums: nums}
	}
	res, err := Execute(context.Background(), w, Options{
		Phase: PhaseRun, Threads: clients, Seed: 7, SliceKeys: sliceKeys,
		NewDB: func(i int) (DB, error) { return logs[i], nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalOps() != w.OperationCount {
		t.Fatalf("%d operations, want %d", res.TotalOps(), w.OperationCount)
	}
	out := make([][]keyCall, clients)
	for i, l := range logs {
		out[i] = l.log
	}
	return out
}

// binomialClose reports whether count successes fit the expected number
// (a sum of per-trial probabilities) within five standard deviations.
func binomialClose(count int, probs []float64) (ok bool, want, sd float64) {
	var v float64
	for _, p := range probs {
		want += p
		v += p * (1 - p)
	}
	sd = math.Sqrt(v)
	return math.Abs(float64(count)-want) <= 5*sd, want, sd
}

// TestSequentialWorkload: requestdistribution=sequential walks
// [insertstart, insertstart+insertcount) in order and wraps, as YCSB's
// SequentialGenerator; YCSB's threads share that one walk, and with
// SliceKeys each client walks its own slice.
func TestSequentialWorkload(t *testing.T) {
	w := mustWorkload(t, Properties{
		"recordcount": "50", "insertstart": "10", "insertcount": "30", "operationcount": "70",
		"readproportion": "0.5", "updateproportion": "0.5", "requestdistribution": "sequential",
	})
	walk := func(lo, n, total int64) []int64 {
		var out []int64
		for i := range total {
			out = append(out, lo+i%n)
		}
		return out
	}
	numbers := func(calls []keyCall) []int64 {
		var out []int64
		for _, c := range calls {
			out = append(out, c.n)
		}
		return out
	}

	t.Run("one client", func(t *testing.T) {
		got := numbers(loadAndRun(t, w, 1, false)[0])
		if want := walk(10, 30, 70); !slices.Equal(got, want) {
			t.Errorf("keys %v, want %v", got, want)
		}
	})

	w3 := *w
	w3.OperationCount = 60
	t.Run("shared by clients", func(t *testing.T) {
		// 60 operations over 30 records: each record exactly twice, however
		// the three clients interleave.
		var got []int64
		for _, l := range loadAndRun(t, &w3, 3, false) {
			got = append(got, numbers(l)...)
		}
		slices.Sort(got)
		want := walk(10, 30, 60)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("keys %v, want %v", got, want)
		}
	})

	t.Run("sliced", func(t *testing.T) {
		for i, l := range loadAndRun(t, &w3, 3, true) {
			if got, want := numbers(l), walk(10+10*int64(i), 10, 20); !slices.Equal(got, want) {
				t.Errorf("client %d: keys %v, want %v", i, got, want)
			}
		}
	})
}

// TestHotspotWorkload: with hotspot, hotspotopnfraction of the operations
// fall on the first hotspotdatafraction of the records, uniformly, and
// the rest on the others, as YCSB's HotspotIntegerGenerator. The
// fractions come from a property file and differ from YCSB's defaults.
func TestHotspotWorkload(t *testing.T) {
	p, err := LoadPropertyFile("testdata/hotspot.properties")
	if err != nil {
		t.Fatal(err)
	}
	w := mustWorkload(t, p)
	if w.HotspotDataFraction != 0.1 || w.HotspotOpnFraction != 0.7 {
		t.Fatalf("fractions %v, %v, want 0.1, 0.7 from the file", w.HotspotDataFraction, w.HotspotOpnFraction)
	}
	calls := loadAndRun(t, w, 1, false)[0]
	const hotKeys = 200 // 10% of 2000 records: numbers 0..199
	perKey := make([]int, w.RecordCount)
	hot := 0
	for _, c := range calls {
		if c.n < 0 || c.n >= w.RecordCount {
			t.Fatalf("%s of record %d, outside [0, %d)", c.op, c.n, w.RecordCount)
		}
		perKey[c.n]++
		if c.n < hotKeys {
			hot++
		}
	}
	probs := make([]float64, len(calls))
	for i := range probs {
		probs[i] = 0.7
	}
	if ok, want, sd := binomialClose(hot, probs); !ok {
		t.Errorf("%d of %d operations on the hot 10%% of records, want %.0f ± 5×%.1f", hot, len(calls), want, sd)
	}
	// Within each set the choice is uniform: a hot record is expected 70
	// times, a cold one 3.3; none of the hot ones may be missed, and few
	// of the cold ones (e^-3.3 of them, about 65).
	if h := slices.Min(perKey[:hotKeys]); h < 30 {
		t.Errorf("a hot record was chosen only %d times", h)
	}
	if m := slices.Max(perKey[hotKeys:]); m > 20 {
		t.Errorf("a cold record was chosen %d times", m)
	}
	missed := 0
	for _, n := range perKey[hotKeys:] {
		if n == 0 {
			missed++
		}
	}
	if missed > 130 {
		t.Errorf("%d of 1800 cold records never chosen, want about 65", missed)
	}
}

// latestRun runs w (reads and inserts, one client) and returns, for each
// read, the record number of the latest insert before it and the one read.
func latestRun(t *testing.T, w *Workload) (latest, read []int64) {
	t.Helper()
	last := w.RecordCount - 1
	inserts := 0
	for _, c := range loadAndRun(t, w, 1, false)[0] {
		switch c.op {
		case "insert":
			if c.n != last+1 {
				t.Fatalf("insert of record %d after %d", c.n, last)
			}
			last = c.n
			inserts++
		case "read":
			if c.n < 0 || c.n > last {
				t.Fatalf("read of record %d, latest is %d", c.n, last)
			}
			latest, read = append(latest, last), append(read, c.n)
		}
	}
	if inserts < 500 {
		t.Fatalf("only %d inserts", inserts)
	}
	return latest, read
}

// TestLatestWorkload: with latest, reads favour the most recent insert,
// then the one before it, zipfian, as YCSB's SkewedLatestGenerator over
// the acknowledged inserts. With L records, Gray's method draws the
// latest with probability exactly 1/zeta(L) and the one before with
// 0.5^0.99/zeta(L).
func TestLatestWorkload(t *testing.T) {
	w := mustWorkload(t, Properties{
		"recordcount": "1000", "operationcount": "10000", "readproportion": "0.9",
		"updateproportion": "0", "insertproportion": "0.1", "requestdistribution": "latest",
	})
	latest, read := latestRun(t, w)
	zeta := map[int64]float64{}
	z, n := 0.0, int64(0)
	for _, l := range latest { // ascending
		for n < l {
			n++
			z += math.Pow(float64(n), -ZipfianConstant)
		}
		zeta[l] = z
	}
	var p0, p1 []float64
	c0, c1, recent := 0, 0, 0
	for i, l := range latest {
		p0 = append(p0, 1/zeta[l])
		p1 = append(p1, math.Pow(0.5, ZipfianConstant)/zeta[l])
		switch d := l - read[i]; {
		case d == 0:
			c0++
		case d == 1:
			c1++
		}
		if l-read[i] < 10 {
			recent++
		}
	}
	if ok, want, sd := binomialClose(c0, p0); !ok {
		t.Errorf("%d reads of the latest record, want %.0f ± 5×%.1f", c0, want, sd)
	}
	if ok, want, sd := binomialClose(c1, p1); !ok {
		t.Errorf("%d reads of the record before the latest, want %.0f ± 5×%.1f", c1, want, sd)
	}
	// The ten latest records are under 1% of them; uniform choice would
	// give them under 1% of the reads, the zipfian about a third.
	if f := float64(recent) / float64(len(read)); f < 0.3 {
		t.Errorf("%.3f of reads on the ten latest records, want over 0.3", f)
	}
}

// TestExponentialWorkload: with exponential, a read's distance below the
// latest acknowledged insert is exponential, with exponential.percentile
// percent of draws below recordcount × exponential.frac, as YCSB's
// ExponentialGenerator; CoreWorkload draws again when the distance passes
// the first record (here with probability 0.1^5, so ignored).
func TestExponentialWorkload(t *testing.T) {
	w := mustWorkload(t, Properties{
		"recordcount": "1000", "operationcount": "10000", "readproportion": "0.9",
		"updateproportion": "0", "insertproportion": "0.1", "requestdistribution": "exponential",
		"exponential.percentile": "90", "exponential.frac": "0.2",
	})
	if w.ExpPercentile != 90 || w.ExpFrac != 0.2 {
		t.Fatalf("percentile %v, frac %v, want 90, 0.2", w.ExpPercentile, w.ExpFrac)
	}
	latest, read := latestRun(t, w)
	// P(distance < x) = 1 - 0.1^(x/200): 90% below 200 records.
	for _, x := range []int64{1, 100, 200} {
		p := 1 - math.Pow(0.1, float64(x)/200)
		probs := make([]float64, len(read))
		count := 0
		for i := range read {
			probs[i] = p
			if latest[i]-read[i] < x {
				count++
			}
		}
		if ok, want, sd := binomialClose(count, probs); !ok {
			t.Errorf("%d of %d reads within %d of the latest record, want %.0f ± 5×%.1f", count, len(read), x, want, sd)
		}
	}
	newer := 0
	for _, n := range read {
		if n >= w.RecordCount {
			newer++
		}
	}
	if newer == 0 {
		t.Error("no read of a record inserted in the run")
	}
}
