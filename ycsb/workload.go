package ycsb

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Op is one kind of CoreWorkload operation.
type Op int

// The operations CoreWorkload chooses between, in YCSB's report order.
const (
	OpRead Op = iota
	OpUpdate
	OpInsert
	OpScan
	OpReadModifyWrite
	numOps
)

var opNames = [numOps]string{"READ", "UPDATE", "INSERT", "SCAN", "READ-MODIFY-WRITE"}

func (o Op) String() string {
	if o < 0 || o >= numOps {
		return fmt.Sprintf("Op(%d)", int(o))
	}
	return opNames[o]
}

// Workload is CoreWorkload's configuration, read from properties.
type Workload struct {
	RecordCount    int64
	OperationCount int64
	InsertStart    int64
	InsertCount    int64

	Proportions [numOps]float64 // read, update, insert, scan, read-modify-write

	RequestDistribution string
	ZipfianConstant     float64
	HotspotDataFraction float64
	HotspotOpnFraction  float64
	ExpPercentile       float64
	ExpFrac             float64

	FieldCount        int
	FieldLength       int64
	MinFieldLength    int64
	FieldLengthDist   string
	FieldNamePrefix   string
	ReadAllFields     bool // accepted, no effect: a memcached get always returns the whole record
	WriteAllFields    bool // updates write every field (else one random field, as YCSB)
	OrderedInserts    bool
	ZeroPadding       int
	TableName         string
	MaxExecutionTime  int64 // seconds, 0 = unbounded
	TargetOpsPerSec   float64
	Threads           int
	HistogramPercents []float64
}

// ErrBadWorkload wraps every configuration error, so callers can tell a bad
// property file from a failing server.
var ErrBadWorkload = errors.New("ycsb: bad workload")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadWorkload, fmt.Sprintf(format, args...))
}

// NewWorkload reads CoreWorkload's properties, with YCSB's defaults for
// anything absent.
func NewWorkload(p Properties) (*Workload, error) {
	w := &Workload{}
	var errs []error
	i64 := func(name string, def int64) int64 {
		v, err := p.Int64(name, def)
		errs = append(errs, err)
		return v
	}
	f64 := func(name string, def float64) float64 {
		v, err := p.Float(name, def)
		errs = append(errs, err)
		return v
	}
	boolean := func(name string, def bool) bool {
		v, err := p.Bool(name, def)
		errs = append(errs, err)
		return v
	}
	w.RecordCount = i64("recordcount", 0)
	w.OperationCount = i64("operationcount", 0)
	w.InsertStart = i64("insertstart", 0)
	w.InsertCount = i64("insertcount", w.RecordCount-w.InsertStart)
	w.Proportions[OpRead] = f64("readproportion", 0.95)
	w.Proportions[OpUpdate] = f64("updateproportion", 0.05)
	w.Proportions[OpInsert] = f64("insertproportion", 0)
	w.Proportions[OpScan] = f64("scanproportion", 0)
	w.Proportions[OpReadModifyWrite] = f64("readmodifywriteproportion", 0)
	w.RequestDistribution = p.String("requestdistribution", "uniform")
	w.ZipfianConstant = f64("zipfian.constant", ZipfianConstant)
	w.HotspotDataFraction = f64("hotspotdatafraction", 0.2)
	w.HotspotOpnFraction = f64("hotspotopnfraction", 0.8)
	w.ExpPercentile = f64("exponential.percentile", 95)
	w.ExpFrac = f64("exponential.frac", 0.8571428571)
	w.FieldCount = int(i64("fieldcount", 10))
	w.FieldLength = i64("fieldlength", 100)
	w.MinFieldLength = i64("minfieldlength", 1)
	w.FieldLengthDist = p.String("fieldlengthdistribution", "constant")
	w.FieldNamePrefix = p.String("fieldnameprefix", "field")
	// readallfields is accepted, as YCSB's workload files set it, but has
	// no effect: a memcached item holds the whole record, so a read (a get
	// of the key) returns every field whichever value it has.
	w.ReadAllFields = boolean("readallfields", true)
	w.WriteAllFields = boolean("writeallfields", false)
	w.OrderedInserts = p.String("insertorder", "hashed") != "hashed"
	w.ZeroPadding = int(i64("zeropadding", 1))
	w.TableName = p.String("table", "usertable")
	w.MaxExecutionTime = i64("maxexecutiontime", 0)
	w.TargetOpsPerSec = f64("target", 0)
	w.Threads = int(i64("threadcount", 1))
	w.HistogramPercents = []float64{50, 95, 99, 99.9}
	if s, ok := p["hdrhistogram.percentiles"]; ok {
		w.HistogramPercents = nil
		for _, f := range strings.Split(s, ",") {
			q := Properties{"p": f}
			v, err := q.Float("p", 0)
			if err != nil || v <= 0 || v > 100 {
				errs = append(errs, badf("hdrhistogram.percentiles: bad percentile %q", f))
				continue
			}
			w.HistogramPercents = append(w.HistogramPercents, v)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadWorkload, err)
	}
	if err := w.validate(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Workload) validate() error {
	switch {
	case w.RecordCount < 0 || w.OperationCount < 0 || w.InsertStart < 0 || w.InsertCount < 0:
		return badf("counts must not be negative")
	case w.InsertStart+w.InsertCount > w.RecordCount && w.RecordCount > 0:
		return badf("insertstart+insertcount (%d) exceeds recordcount (%d)", w.InsertStart+w.InsertCount, w.RecordCount)
	case w.FieldCount < 1:
		return badf("fieldcount must be at least 1")
	case w.FieldLength < 1 || w.MinFieldLength < 1 || w.MinFieldLength > w.FieldLength:
		return badf("need 1 <= minfieldlength <= fieldlength")
	case w.FieldLength > 1<<20:
		return badf("fieldlength %d too large (max 1 MiB)", w.FieldLength)
	case w.ZeroPadding < 1 || w.ZeroPadding > 200:
		return badf("zeropadding must be in [1, 200]")
	case strings.ContainsAny(w.FieldNamePrefix, "\"\\"):
		return badf("fieldnameprefix must not contain quotes or backslashes")
	case w.Threads < 1:
		return badf("threadcount must be at least 1")
	case w.TargetOpsPerSec < 0:
		return badf("target must not be negative")
	}
	sum := 0.0
	for _, p := range w.Proportions {
		if p < 0 {
			return badf("proportions must not be negative")
		}
		sum += p
	}
	if sum == 0 {
		return badf("all operation proportions are zero")
	}
	switch w.FieldLengthDist {
	case "constant", "uniform", "zipfian":
	default:
		return badf("fieldlengthdistribution %q unsupported (want constant, uniform or zipfian)", w.FieldLengthDist)
	}
	switch w.RequestDistribution {
	case "uniform", "zipfian", "latest", "hotspot", "sequential", "exponential":
	default:
		return badf("requestdistribution %q unknown", w.RequestDistribution)
	}
	return nil
}

// FieldName is the name of field i ("field0", ...).
func (w *Workload) FieldName(i int) string { return fmt.Sprintf("%s%d", w.FieldNamePrefix, i) }

// fieldLengthGen builds the generator for field lengths.
func (w *Workload) fieldLengthGen() Generator {
	switch w.FieldLengthDist {
	case "uniform":
		return Uniform{Lo: w.MinFieldLength, Hi: w.FieldLength}
	case "zipfian":
		return NewZipfian(w.MinFieldLength, w.FieldLength, ZipfianConstant)
	}
	return Constant(w.FieldLength)
}

// opChooser is YCSB's DiscreteGenerator over the operation proportions.
type opChooser struct {
	weights [numOps]float64
	sum     float64
}

func (w *Workload) opChooser() opChooser {
	c := opChooser{weights: w.Proportions}
	for _, p := range c.weights {
		c.sum += p
	}
	return c
}

func (c opChooser) next(r *rand.Rand) Op {
	v := r.Float64()
	for op, p := range c.weights {
		pw := p / c.sum
		if v < pw {
			return Op(op)
		}
		v -= pw
	}
	// Rounding can leave v just above the last weight; pick the last
	// operation with a non-zero weight.
	for op := numOps - 1; op >= 0; op-- {
		if c.weights[op] > 0 {
			return op
		}
	}
	return OpRead
}

// keyChooser builds the request distribution over [start, start+count) of
// the record space. acks is the shared run-phase insert sequence.
func (w *Workload) keyChooser(start, count int64, acks *AckCounter) (Generator, error) {
	if count < 1 && w.RequestDistribution != "latest" && w.RequestDistribution != "exponential" {
		return nil, badf("no records to choose from (insertcount=%d)", count)
	}
	switch w.RequestDistribution {
	case "uniform":
		return Uniform{Lo: start, Hi: start + count - 1}, nil
	case "sequential":
		return NewSequential(start, start+count-1), nil
	case "zipfian":
		// YCSB sizes the key space for the inserts the run will make (with a
		// fudge factor of 2), so popular keys stay put as records are added.
		expectedNew := int64(float64(w.OperationCount) * w.Proportions[OpInsert] * 2.0)
		return NewScrambledZipfian(start, start+count+expectedNew, w.ZipfianConstant), nil
	case "latest":
		if acks.Last() < 1 {
			return nil, badf("latest needs at least 2 records")
		}
		return NewSkewedLatest(acks), nil
	case "hotspot":
		return NewHotspot(start, start+count-1, w.HotspotDataFraction, w.HotspotOpnFraction), nil
	case "exponential":
		return NewExponential(w.ExpPercentile, float64(w.RecordCount)*w.ExpFrac), nil
	}
	return nil, badf("requestdistribution %q unknown", w.RequestDistribution)
}
