package ycsb

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// DefaultCILevel is the confidence level the thesis reports mean latencies
// with (§5.1.1: a 96% confidence interval).
const DefaultCILevel = 0.96

// ordinal names a percentile the way YCSB's HdrHistogram measurement does:
// "95th", "99th", "50th", and "99.9" for fractional ones.
func ordinal(p float64) string {
	if p != float64(int64(p)) {
		return strconv.FormatFloat(p, 'f', -1, 64)
	}
	n := int64(p)
	suffix := "th"
	switch n % 100 {
	case 11, 12, 13:
	default:
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.FormatInt(n, 10) + suffix
}

// ciName prints a confidence level as a percentage ("96%").
func ciName(level float64) string {
	return strconv.FormatFloat(math.Round(level*1000)/10, 'f', -1, 64) + "%"
}

// yline is one "[SECTION], Name, value" line.
type yline struct {
	section, name, value string
}

func (r *Result) lines(percentiles []float64, ciLevel float64) []yline {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	out := []yline{
		{"OVERALL", "RunTime(ms)", i(r.RunTime.Milliseconds())},
		{"OVERALL", "Throughput(ops/sec)", f(r.Throughput())},
		// Not in YCSB: the thesis's throughput (ops / slowest client's time).
		{"OVERALL", "ThesisThroughput(ops/sec)", f(r.ThesisThroughput())},
		{"OVERALL", "Clients", i(int64(r.Threads))},
	}
	for op, s := range r.Ops {
		if s == nil {
			continue
		}
		name := Op(op).String()
		out = append(out,
			yline{name, "Operations", i(s.Count)},
			yline{name, "AverageLatency(us)", f(s.Mean())},
			yline{name, "MinLatency(us)", i(s.Hist.Min())},
			yline{name, "MaxLatency(us)", i(s.Hist.Max())},
		)
		for _, p := range percentiles {
			out = append(out, yline{name, ordinal(p) + "PercentileLatency(us)", i(s.Hist.ValueAtQuantile(p))})
		}
		// Not in YCSB: the half-width of the mean's confidence interval.
		out = append(out, yline{name, "MeanLatencyCI" + ciName(ciLevel) + "HalfWidth(us)", f(s.CI(ciLevel))})
		for _, st := range s.Statuses() {
			out = append(out, yline{name, "Return=" + string(st), i(s.Returns[st])})
		}
	}
	return out
}

// WriteText prints r in YCSB's format ("[OVERALL], RunTime(ms), 1234").
func (r *Result) WriteText(w io.Writer, percentiles []float64, ciLevel float64) error {
	for _, l := range r.lines(percentiles, ciLevel) {
		if _, err := fmt.Fprintf(w, "[%s], %s, %s\n", l.section, l.name, l.value); err != nil {
			return err
		}
	}
	return nil
}

// WriteCSV prints r as section,metric,value rows with a header.
func (r *Result) WriteCSV(w io.Writer, percentiles []float64, ciLevel float64) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"section", "metric", "value"}); err != nil {
		return err
	}
	for _, l := range r.lines(percentiles, ciLevel) {
		if err := cw.Write([]string{l.section, l.name, l.value}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// OpSummary is one operation's numbers in JSON reports.
type OpSummary struct {
	Operations  int64            `json:"operations"`
	Errors      int64            `json:"errors"`
	AverageUs   float64          `json:"average_us"`
	CIHalfUs    float64          `json:"ci_half_width_us"`
	CILevel     float64          `json:"ci_level"`
	MinUs       int64            `json:"min_us"`
	MaxUs       int64            `json:"max_us"`
	Percentiles map[string]int64 `json:"percentiles_us"`
	Returns     map[Status]int64 `json:"returns"`
}

// Summary is a Result reduced to numbers, for JSON output and comparisons.
type Summary struct {
	Phase            string               `json:"phase"`
	Clients          int                  `json:"clients"`
	RunTimeMs        int64                `json:"runtime_ms"`
	Throughput       float64              `json:"throughput_ops_sec"`
	ThesisThroughput float64              `json:"thesis_throughput_ops_sec"`
	ClientTimesMs    []int64              `json:"client_times_ms"`
	Overall          OpSummary            `json:"overall"`
	Ops              map[string]OpSummary `json:"operations"`
}

func summarize(s *OpStats, percentiles []float64, ciLevel float64) OpSummary {
	o := OpSummary{
		Operations: s.Count, Errors: s.Errors(), AverageUs: s.Mean(),
		CIHalfUs: s.CI(ciLevel), CILevel: ciLevel,
		MinUs: s.Hist.Min(), MaxUs: s.Hist.Max(),
		Percentiles: map[string]int64{}, Returns: s.Returns,
	}
	for _, p := range percentiles {
		o.Percentiles["p"+strconv.FormatFloat(p, 'f', -1, 64)] = s.Hist.ValueAtQuantile(p)
	}
	return o
}

// Summary reduces r to numbers.
func (r *Result) Summary(percentiles []float64, ciLevel float64) Summary {
	s := Summary{
		Phase: r.Phase.String(), Clients: r.Threads, RunTimeMs: r.RunTime.Milliseconds(),
		Throughput: r.Throughput(), ThesisThroughput: r.ThesisThroughput(),
		Overall: summarize(r.Overall, percentiles, ciLevel),
		Ops:     map[string]OpSummary{},
	}
	for _, d := range r.ClientTimes {
		s.ClientTimesMs = append(s.ClientTimesMs, d.Milliseconds())
	}
	for op, st := range r.Ops {
		if st != nil {
			s.Ops[Op(op).String()] = summarize(st, percentiles, ciLevel)
		}
	}
	return s
}

// WriteJSON prints r's Summary as indented JSON.
func (r *Result) WriteJSON(w io.Writer, percentiles []float64, ciLevel float64) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.Summary(percentiles, ciLevel))
}
