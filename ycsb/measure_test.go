package ycsb

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// z96 is the standard normal quantile for a two-sided 96% interval,
// Φ⁻¹(0.98), from a table rather than from the code under test.
const z96 = 2.053748910631822

// readStatus gives fixed latency v its status in the measurement tests:
// every 10th an ERROR, every other 7th NOT_FOUND (128 of 1..1000), the
// rest OK.
func readStatus(v int) Status {
	switch {
	case v%10 == 0:
		return StatusError
	case v%7 == 0:
		return StatusNotFound
	}
	return StatusOK
}

// sampleSD is the sample standard deviation by the two-pass formula, so
// it does not share OpStats' sums.
func sampleSD(xs []float64) float64 {
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// fixedResult is a two-client run phase with known measurements. Client 0
// reads with latencies 1..500 µs, client 1 with 501..1000 µs and makes 20
// updates of 2001..2020 µs (the last five ERROR). Client 0 runs from t0
// for 1 s, client 1 from t0+0.5 s for 2 s, so the phase's wall time is
// 2.5 s while the slowest client takes 2 s.
func fixedResult(t *testing.T) *Result {
	t.Helper()
	w := mustWorkload(t, Properties{"recordcount": "10", "operationcount": "1020"})
	p, err := NewPlan(w, PhaseRun, 2, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c0, c1 := p.clients[0], p.clients[1]
	for v := 1; v <= 1000; v++ {
		c := c0
		if v > 500 {
			c = c1
		}
		c.m.record(OpRead, time.Duration(v)*time.Microsecond, readStatus(v))
		c.count++
	}
	for v := 2001; v <= 2020; v++ {
		st := StatusOK
		if v > 2015 {
			st = StatusError
		}
		c1.m.record(OpUpdate, time.Duration(v)*time.Microsecond, st)
		c1.count++
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c0.elapsed, c1.elapsed = time.Second, 2*time.Second
	p.begin, p.timing = t0, true
	p.ended(t0.Add(2500 * time.Millisecond)) // client 1, which ends last
	p.ended(t0.Add(time.Second))             // client 0, reported after it
	return p.Result()
}

// opWant is what one operation's measurements must come to.
type opWant struct {
	count, errors  int64
	mean, ci       float64
	min, max       int64
	pct            map[float64]int64 // percentile -> value
	returns        map[Status]int64
	latencies      []float64 // µs, for the CI computed independently
	section, label string
}

func fixedWants() (read, update, overall opWant) {
	var reads, updates []float64
	for v := 1; v <= 1000; v++ {
		reads = append(reads, float64(v))
	}
	for v := 2001; v <= 2020; v++ {
		updates = append(updates, float64(v))
	}
	read = opWant{
		section: "READ", count: 1000, errors: 100, mean: 500.5, min: 1, max: 1000,
		// The nearest rank of 1..1000: the p-th percentile is 10p.
		pct:       map[float64]int64{50: 500, 95: 950, 99: 990, 99.9: 999},
		returns:   map[Status]int64{StatusOK: 772, StatusNotFound: 128, StatusError: 100},
		latencies: reads,
	}
	update = opWant{
		section: "UPDATE", count: 20, errors: 5, mean: 2010.5, min: 2001, max: 2020,
		pct:       map[float64]int64{50: 2010, 95: 2019, 99: 2020, 99.9: 2020},
		returns:   map[Status]int64{StatusOK: 15, StatusError: 5},
		latencies: updates,
	}
	all := append(append([]float64(nil), reads...), updates...)
	overall = opWant{
		count: 1020, errors: 105, mean: (500500.0 + 40210.0) / 1020, min: 1, max: 2020,
		// Ranks 510, 969, 1010 and 1019 of the 1020 values: 1..1000, then 2001..
		pct:       map[float64]int64{50: 510, 95: 969, 99: 2010, 99.9: 2019},
		returns:   map[Status]int64{StatusOK: 787, StatusNotFound: 128, StatusError: 105},
		latencies: all,
	}
	for _, o := range []*opWant{&read, &update, &overall} {
		o.ci = z96 * sampleSD(o.latencies) / math.Sqrt(float64(len(o.latencies)))
	}
	return read, update, overall
}

// hdrClose reports whether got is want within HdrHistogram's precision at
// three significant digits (a relative error of at most 10^-3).
func hdrClose(got, want int64) bool {
	return math.Abs(float64(got-want)) <= math.Max(1, float64(want)/1000)
}

func closeTo(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }

func checkOpStats(t *testing.T, name string, s *OpStats, want opWant) {
	t.Helper()
	if s == nil {
		t.Fatalf("%s: no measurements", name)
	}
	if s.Count != want.count || s.Errors() != want.errors {
		t.Errorf("%s: count %d, errors %d, want %d, %d", name, s.Count, s.Errors(), want.count, want.errors)
	}
	if !closeTo(s.Mean(), want.mean) {
		t.Errorf("%s: mean %v µs, want %v", name, s.Mean(), want.mean)
	}
	if s.Hist.Min() != want.min || s.Hist.Max() != want.max {
		t.Errorf("%s: min %d, max %d, want %d, %d", name, s.Hist.Min(), s.Hist.Max(), want.min, want.max)
	}
	for p, v := range want.pct {
		if got := s.Hist.ValueAtQuantile(p); !hdrClose(got, v) {
			t.Errorf("%s: p%v = %d µs, want %d", name, p, got, v)
		}
	}
	for st, n := range want.returns {
		if s.Returns[st] != n {
			t.Errorf("%s: Return=%s %d, want %d", name, st, s.Returns[st], n)
		}
	}
	if len(s.Returns) != len(want.returns) {
		t.Errorf("%s: returns %v, want %v", name, s.Returns, want.returns)
	}
	if got := s.CI(DefaultCILevel); !closeTo(got, want.ci) {
		t.Errorf("%s: 96%% CI half-width %v µs, want %v", name, got, want.ci)
	}
}

// TestMeasurementNumbers feeds fixed latencies and statuses through the
// clients' recording, the merge and the reports, and checks every number
// against one computed here from the inputs.
func TestMeasurementNumbers(t *testing.T) {
	res := fixedResult(t)
	read, update, overall := fixedWants()

	if res.RunTime != 2500*time.Millisecond {
		t.Errorf("RunTime %v, want 2.5s (first start to last end)", res.RunTime)
	}
	if len(res.ClientTimes) != 2 || res.ClientTimes[0] != time.Second || res.ClientTimes[1] != 2*time.Second {
		t.Errorf("client times %v, want [1s 2s]", res.ClientTimes)
	}
	if res.TotalOps() != 1020 {
		t.Errorf("TotalOps %d, want 1020", res.TotalOps())
	}
	// YCSB: operations / wall time; the thesis: operations / slowest client.
	const ycsbTput, thesisTput = 1020 / 2.5, 1020 / 2.0
	if !closeTo(res.Throughput(), ycsbTput) || !closeTo(res.ThesisThroughput(), thesisTput) {
		t.Errorf("throughput %v (YCSB), %v (thesis), want %v, %v", res.Throughput(), res.ThesisThroughput(), ycsbTput, thesisTput)
	}
	checkOpStats(t, "READ", res.Ops[OpRead], read)
	checkOpStats(t, "UPDATE", res.Ops[OpUpdate], update)
	checkOpStats(t, "overall", res.Overall, overall)
	for _, op := range []Op{OpInsert, OpScan, OpReadModifyWrite} {
		if res.Ops[op] != nil {
			t.Errorf("%s measured, but none ran", op)
		}
	}
	// The CI at another level moves with z: 95% is Φ⁻¹(0.975) = 1.95996...
	if got, want := res.Ops[OpRead].CI(0.95), 1.9599639845400536*sampleSD(read.latencies)/math.Sqrt(1000); !closeTo(got, want) {
		t.Errorf("READ 95%% CI half-width %v, want %v", got, want)
	}
	// For 1..1000 the sample sd is sqrt(1000·1001/12), so the number is known.
	if got := res.Ops[OpRead].CI(DefaultCILevel); math.Abs(got-18.757448459454974) > 1e-9 {
		t.Errorf("READ 96%% CI half-width %v, want 18.7574484594...", got)
	}

	t.Run("text", func(t *testing.T) {
		var buf bytes.Buffer
		if err := res.WriteText(&buf, []float64{50, 95, 99, 99.9}, DefaultCILevel); err != nil {
			t.Fatal(err)
		}
		lines := textLines(t, buf.String())
		num := func(key string) float64 {
			t.Helper()
			v, ok := lines[key]
			if !ok {
				t.Fatalf("no line %q in\n%s", key, buf.String())
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			return f
		}
		for key, want := range map[string]float64{
			"[OVERALL], RunTime(ms)":               2500,
			"[OVERALL], Throughput(ops/sec)":       ycsbTput,
			"[OVERALL], ThesisThroughput(ops/sec)": thesisTput,
			"[OVERALL], Clients":                   2,
		} {
			if got := num(key); !closeTo(got, want) {
				t.Errorf("%s = %v, want %v", key, got, want)
			}
		}
		for _, o := range []opWant{read, update} {
			sec := "[" + o.section + "], "
			exact := map[string]float64{
				"Operations": float64(o.count), "MinLatency(us)": float64(o.min), "MaxLatency(us)": float64(o.max),
				"AverageLatency(us)": o.mean, "MeanLatencyCI96%HalfWidth(us)": o.ci,
			}
			for st, n := range o.returns {
				exact["Return="+string(st)] = float64(n)
			}
			for name, want := range exact {
				if got := num(sec + name); !closeTo(got, want) {
					t.Errorf("%s%s = %v, want %v", sec, name, got, want)
				}
			}
			for p, name := range map[float64]string{50: "50th", 95: "95th", 99: "99th", 99.9: "99.9"} {
				if got := num(sec + name + "PercentileLatency(us)"); !hdrClose(int64(got), o.pct[p]) {
					t.Errorf("%s%sPercentileLatency(us) = %v, want %d", sec, name, got, o.pct[p])
				}
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		var buf bytes.Buffer
		if err := res.WriteJSON(&buf, []float64{50, 95, 99, 99.9}, DefaultCILevel); err != nil {
			t.Fatal(err)
		}
		// Decoded generically, so the field names are checked as written.
		var doc map[string]any
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]float64{
			"runtime_ms": 2500, "throughput_ops_sec": ycsbTput, "thesis_throughput_ops_sec": thesisTput, "clients": 2,
		} {
			if got, ok := doc[key].(float64); !ok || !closeTo(got, want) {
				t.Errorf("%s = %v, want %v", key, doc[key], want)
			}
		}
		if ct, _ := doc["client_times_ms"].([]any); len(ct) != 2 || ct[0] != 1000.0 || ct[1] != 2000.0 {
			t.Errorf("client_times_ms = %v, want [1000 2000]", doc["client_times_ms"])
		}
		ops, _ := doc["operations"].(map[string]any)
		if len(ops) != 2 {
			t.Errorf("operations = %v, want READ and UPDATE", ops)
		}
		for _, c := range []struct {
			name string
			got  any
			want opWant
		}{{"READ", ops["READ"], read}, {"UPDATE", ops["UPDATE"], update}, {"overall", doc["overall"], overall}} {
			checkJSONOp(t, c.name, c.got, c.want)
		}
	})
}

func checkJSONOp(t *testing.T, name string, v any, want opWant) {
	t.Helper()
	o, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: %v is not an object", name, v)
	}
	for key, w := range map[string]float64{
		"operations": float64(want.count), "errors": float64(want.errors), "average_us": want.mean,
		"ci_half_width_us": want.ci, "ci_level": DefaultCILevel, "min_us": float64(want.min), "max_us": float64(want.max),
	} {
		if got, ok := o[key].(float64); !ok || !closeTo(got, w) {
			t.Errorf("%s.%s = %v, want %v", name, key, o[key], w)
		}
	}
	pct, _ := o["percentiles_us"].(map[string]any)
	for p, w := range want.pct {
		key := "p" + strconv.FormatFloat(p, 'f', -1, 64)
		if got, ok := pct[key].(float64); !ok || !hdrClose(int64(got), w) {
			t.Errorf("%s.percentiles_us.%s = %v, want %d", name, key, pct[key], w)
		}
	}
	ret, _ := o["returns"].(map[string]any)
	if len(ret) != len(want.returns) {
		t.Errorf("%s.returns = %v, want %v", name, ret, want.returns)
	}
	for st, n := range want.returns {
		if got, ok := ret[string(st)].(float64); !ok || got != float64(n) {
			t.Errorf("%s.returns.%s = %v, want %d", name, st, ret[string(st)], n)
		}
	}
}

// textLines maps "[SECTION], Name" to its value, failing on a repeat.
func textLines(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		i := strings.LastIndex(sc.Text(), ", ")
		if i < 0 {
			t.Fatalf("line %q is not [SECTION], Name, value", sc.Text())
		}
		key := sc.Text()[:i]
		if _, dup := out[key]; dup {
			t.Fatalf("line %q repeated", key)
		}
		out[key] = sc.Text()[i+2:]
	}
	return out
}

// TestStdDevLargeLatencies: latencies far from zero with a small spread
// keep their spread, recorded by two clients and merged.
func TestStdDevLargeLatencies(t *testing.T) {
	a, b := newOpStats(), newOpStats()
	var xs []float64
	for i := range 100000 {
		v := 10_000_000 + i%11 // ten seconds, give or take 5 µs
		s := a
		if i%3 == 0 {
			s = b
		}
		s.record(time.Duration(v)*time.Microsecond, StatusOK)
		xs = append(xs, float64(v))
	}
	all := newOpStats()
	all.merge(a)
	all.merge(b)
	if got, want := all.StdDev(), sampleSD(xs); math.Abs(got-want) > 1e-6*want {
		t.Errorf("StdDev %v µs, want %v", got, want)
	}
	if got, want := all.Mean(), 10_000_000+5.0; math.Abs(got-want) > 0.01 {
		t.Errorf("Mean %v µs, want about %v", got, want)
	}
}
