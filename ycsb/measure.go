package ycsb

import (
	"math"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Status is how an operation ended, named as YCSB's Status codes are.
type Status string

// The statuses an operation can end with.
const (
	StatusOK             Status = "OK"
	StatusNotFound       Status = "NOT_FOUND"
	StatusError          Status = "ERROR"
	StatusNotImplemented Status = "NOT_IMPLEMENTED"
)

// Latencies are recorded in microseconds, as YCSB reports them, from 1 µs
// to an hour with three significant digits.
const (
	histMin     = 1
	histMax     = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
)

// OpStats are one operation type's measurements.
type OpStats struct {
	Hist    *hdrhistogram.Histogram
	Count   int64
	Returns map[Status]int64

	// The mean latency (µs) and the sum of squared deviations from it,
	// kept by Welford's method and merged by Chan et al.'s. Sums of the
	// latencies and of their squares would lose a spread that is small
	// next to the latencies to rounding (at 10 s ± 5 µs the standard
	// deviation came out 2.6 times too large).
	mean, m2 float64

	// known counts the common statuses while a client records, so the
	// per-operation path does no map update; merge folds them into
	// Returns, and only merged stats are ever read.
	known [len(knownStatuses)]int64
}

// knownStatuses are the statuses record counts without the map.
var knownStatuses = [...]Status{StatusOK, StatusNotFound, StatusError, StatusNotImplemented}

func newOpStats() *OpStats {
	return &OpStats{Hist: hdrhistogram.New(histMin, histMax, histSigFigs), Returns: map[Status]int64{}}
}

func (s *OpStats) record(d time.Duration, st Status) {
	us := d.Microseconds()
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	// RecordValue only fails outside [histMin, histMax], clamped above.
	_ = s.Hist.RecordValue(us)
	s.Count++
	f := float64(d) / float64(time.Microsecond)
	delta := f - s.mean
	s.mean += delta / float64(s.Count)
	s.m2 += delta * (f - s.mean)
	for i, k := range knownStatuses {
		if st == k {
			s.known[i]++
			return
		}
	}
	s.Returns[st]++
}

func (s *OpStats) merge(o *OpStats) {
	s.Hist.Merge(o.Hist)
	if n := s.Count + o.Count; n > 0 {
		na, nb := float64(s.Count), float64(o.Count)
		delta := o.mean - s.mean
		s.mean += delta * nb / float64(n)
		s.m2 += o.m2 + delta*delta*na*nb/float64(n)
	}
	s.Count += o.Count
	for k, v := range o.Returns {
		s.Returns[k] += v
	}
	for i, v := range o.known {
		if v > 0 {
			s.Returns[knownStatuses[i]] += v
		}
	}
}

// Mean is the mean latency in microseconds.
func (s *OpStats) Mean() float64 { return s.mean }

// StdDev is the sample standard deviation of the latency in microseconds.
func (s *OpStats) StdDev() float64 {
	if s.Count < 2 {
		return 0
	}
	return math.Sqrt(s.m2 / float64(s.Count-1))
}

// CI returns the half-width of the confidence interval of the mean latency
// at the given level (0.96 is the thesis's), by the normal approximation,
// which is sound for the 10^5 samples per client the thesis takes.
func (s *OpStats) CI(level float64) float64 {
	if s.Count < 2 || level <= 0 || level >= 1 {
		return 0
	}
	z := math.Sqrt2 * math.Erfinv(level)
	return z * s.StdDev() / math.Sqrt(float64(s.Count))
}

// Errors is the number of operations that did not end OK or NOT_FOUND.
func (s *OpStats) Errors() int64 {
	return s.Count - s.Returns[StatusOK] - s.Returns[StatusNotFound]
}

// Statuses returns the statuses seen, sorted, for stable reports.
func (s *OpStats) Statuses() []Status {
	var out []Status
	for k := range s.Returns {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// measurements are one client's; clients never share them, so recording
// takes no lock, and they are merged when the run ends.
type measurements struct {
	ops [numOps]*OpStats
}

func (m *measurements) record(op Op, d time.Duration, st Status) {
	if m.ops[op] == nil {
		m.ops[op] = newOpStats()
	}
	m.ops[op].record(d, st)
}
