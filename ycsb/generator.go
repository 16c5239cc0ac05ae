package ycsb

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Generator produces the integers a workload draws keys, field lengths and
// the like from: YCSB's NumberGenerator. Next takes the caller's random
// source, so one generator can serve many client goroutines, each with its
// own reproducible stream.
type Generator interface {
	Next(r *rand.Rand) int64
}

// randLong returns Math.abs(random.nextLong()) % n as YCSB's generators
// compute it; n must be positive.
func randLong(r *rand.Rand, n int64) int64 {
	v := int64(r.Uint64())
	if v < 0 {
		v = -v
	}
	if v < 0 { // Math.abs(Long.MIN_VALUE)
		v = math.MaxInt64
	}
	return v % n
}

// Constant always returns the same value (fieldlengthdistribution=constant).
type Constant int64

// Next returns c.
func (c Constant) Next(*rand.Rand) int64 { return int64(c) }

// Uniform is YCSB's UniformLongGenerator: every integer in [Lo, Hi] equally.
type Uniform struct{ Lo, Hi int64 }

// Next returns a uniform integer in [Lo, Hi].
func (u Uniform) Next(r *rand.Rand) int64 { return u.Lo + r.Int64N(u.Hi-u.Lo+1) }

// Sequential is YCSB's SequentialGenerator: Lo, Lo+1, ..., Hi, Lo, ...
// shared by all callers.
type Sequential struct {
	lo, n int64
	next  atomic.Int64
}

// NewSequential returns a generator walking [lo, hi] in order.
func NewSequential(lo, hi int64) *Sequential { return &Sequential{lo: lo, n: hi - lo + 1} }

// Next returns the next integer in order.
func (s *Sequential) Next(*rand.Rand) int64 { return s.lo + (s.next.Add(1)-1)%s.n }

// Counter is YCSB's CounterGenerator: start, start+1, ... shared by all
// callers (the load phase's key sequence).
type Counter struct{ next atomic.Int64 }

// NewCounter returns a counter whose first value is start.
func NewCounter(start int64) *Counter {
	c := &Counter{}
	c.next.Store(start)
	return c
}

// Next returns the next value.
func (c *Counter) Next(*rand.Rand) int64 { return c.next.Add(1) - 1 }

// Last is the value most recently handed out.
func (c *Counter) Last() int64 { return c.next.Load() - 1 }

// AckCounter is YCSB's AcknowledgedCounterGenerator: run-phase inserts take
// numbers from it, and Last only advances past a number once every number
// below it has been acknowledged as written, so readers never pick a key
// whose insert has not finished.
type AckCounter struct {
	next  atomic.Int64
	mu    sync.Mutex // guards acked and writes of limit
	limit atomic.Int64
	acked map[int64]bool
}

// NewAckCounter returns a counter whose first value is start; Last starts
// at start-1.
func NewAckCounter(start int64) *AckCounter {
	c := &AckCounter{acked: map[int64]bool{}}
	c.limit.Store(start - 1)
	c.next.Store(start)
	return c
}

// Next returns the next number to insert.
func (c *AckCounter) Next(*rand.Rand) int64 { return c.next.Add(1) - 1 }

// Acknowledge marks v as inserted.
func (c *AckCounter) Acknowledge(v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acked[v] = true
	limit := c.limit.Load()
	for c.acked[limit+1] {
		delete(c.acked, limit+1)
		limit++
	}
	c.limit.Store(limit)
}

// Last is the highest number below which every insert is acknowledged.
// Every client reads it once per operation, so it is one atomic load.
func (c *AckCounter) Last() int64 { return c.limit.Load() }

// ZipfianConstant is YCSB's ZipfianGenerator.ZIPFIAN_CONSTANT.
const ZipfianConstant = 0.99

// Zipfian is YCSB's ZipfianGenerator (Gray et al., "Quickly Generating
// Billion-Record Synthetic Databases", SIGMOD 1994): item Base is the most
// popular, then Base+1, and so on. The item count may grow between calls
// (SkewedLatest), in which case zeta is extended incrementally.
type Zipfian struct {
	base, items int64
	theta       float64
	zeta2theta  float64
	alpha       float64
	half        float64 // 1 + 0.5^theta, YCSB's bound for the second item

	mu           sync.Mutex
	zetan        float64
	eta          float64
	countForZeta int64
}

// NewZipfian returns a zipfian generator over [min, max] with constant theta,
// computing zeta(max-min+1) from scratch.
func NewZipfian(min, max int64, theta float64) *Zipfian {
	return NewZipfianZeta(min, max, theta, zetaStatic(0, max-min+1, theta, 0))
}

// NewZipfianZeta is NewZipfian with zeta(max-min+1, theta) precomputed.
func NewZipfianZeta(min, max int64, theta, zetan float64) *Zipfian {
	z := &Zipfian{base: min, items: max - min + 1, theta: theta}
	z.zeta2theta = zetaStatic(0, 2, theta, 0)
	z.alpha = 1 / (1 - theta)
	z.half = 1 + math.Pow(0.5, theta)
	z.zetan = zetan
	z.countForZeta = z.items
	z.eta = z.etaFor(zetan)
	return z
}

func (z *Zipfian) etaFor(zetan float64) float64 {
	return (1 - math.Pow(2.0/float64(z.items), 1-z.theta)) / (1 - z.zeta2theta/zetan)
}

func zetaStatic(st, n int64, theta, initial float64) float64 {
	sum := initial
	for i := st; i < n; i++ {
		sum += 1 / math.Pow(float64(i+1), theta)
	}
	return sum
}

// Next returns a zipfian item over the generator's own item count.
func (z *Zipfian) Next(r *rand.Rand) int64 { return z.NextN(r, z.items) }

// NextN returns a zipfian item over itemCount items. Like YCSB, a growing
// count extends zeta; a shrinking one keeps the old zeta (YCSB's default,
// allowitemcountdecrease=false), because recomputing is far too slow.
func (z *Zipfian) NextN(r *rand.Rand, itemCount int64) int64 {
	z.mu.Lock()
	if itemCount > z.countForZeta {
		z.zetan = zetaStatic(z.countForZeta, itemCount, z.theta, z.zetan)
		z.countForZeta = itemCount
		// YCSB recomputes eta from the constructor's item count, not the
		// new one; keep that so the distributions match.
		z.eta = z.etaFor(z.zetan)
	}
	zetan, eta := z.zetan, z.eta
	z.mu.Unlock()

	u := r.Float64()
	uz := u * zetan
	if uz < 1 {
		return z.base
	}
	if uz < z.half {
		return z.base + 1
	}
	return z.base + int64(float64(itemCount)*math.Pow(eta*u-eta+1, z.alpha))
}

// Constants of YCSB's ScrambledZipfianGenerator: it draws from a zipfian
// over 10^10 items whose zeta is precomputed, then hashes the draw into the
// caller's range, so popular items are scattered over the key space.
const (
	ScrambledZetan     = 26.46902820178302
	ScrambledItemCount = 10000000000
)

// ScrambledZipfian is YCSB's ScrambledZipfianGenerator over [min, max].
type ScrambledZipfian struct {
	min, itemCount int64
	gen            *Zipfian
}

// NewScrambledZipfian returns a scrambled zipfian over [min, max] with
// constant theta. For theta other than 0.99 zeta over 10^10 items must be
// computed, which takes minutes, as it does in YCSB.
func NewScrambledZipfian(min, max int64, theta float64) *ScrambledZipfian {
	var gen *Zipfian
	if theta == ZipfianConstant {
		gen = NewZipfianZeta(0, ScrambledItemCount, theta, ScrambledZetan)
	} else {
		gen = NewZipfian(0, ScrambledItemCount, theta)
	}
	return &ScrambledZipfian{min: min, itemCount: max - min + 1, gen: gen}
}

// Next returns min + fnvhash64(zipfian draw) mod the item count.
func (s *ScrambledZipfian) Next(r *rand.Rand) int64 {
	return s.min + FNVHash64(s.gen.Next(r))%s.itemCount
}

// SkewedLatest is YCSB's SkewedLatestGenerator: the most recently inserted
// key is the most popular, then the one before it, zipfian.
type SkewedLatest struct {
	basis *AckCounter
	zipf  *Zipfian
}

// NewSkewedLatest returns a generator skewed towards basis's latest value.
func NewSkewedLatest(basis *AckCounter) *SkewedLatest {
	return &SkewedLatest{basis: basis, zipf: NewZipfian(0, basis.Last()-1, ZipfianConstant)}
}

// Next returns latest minus a zipfian offset.
func (s *SkewedLatest) Next(r *rand.Rand) int64 {
	max := s.basis.Last()
	return max - s.zipf.NextN(r, max)
}

// Hotspot is YCSB's HotspotIntegerGenerator: a fraction OpnFraction of
// draws fall uniformly in the first DataFraction of [lo, hi], the rest
// uniformly in the remainder.
type Hotspot struct {
	lo, hot, cold int64
	opnFraction   float64
}

// NewHotspot returns a hotspot generator. Out-of-range fractions become 0
// and swapped bounds are put in order, as in YCSB.
func NewHotspot(lo, hi int64, dataFraction, opnFraction float64) *Hotspot {
	if dataFraction < 0 || dataFraction > 1 {
		dataFraction = 0
	}
	if opnFraction < 0 || opnFraction > 1 {
		opnFraction = 0
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	interval := hi - lo + 1
	hot := int64(float64(interval) * dataFraction)
	return &Hotspot{lo: lo, hot: hot, cold: interval - hot, opnFraction: opnFraction}
}

// Next returns a hot or a cold value.
func (h *Hotspot) Next(r *rand.Rand) int64 {
	if r.Float64() < h.opnFraction && h.hot > 0 {
		return h.lo + randLong(r, h.hot)
	}
	if h.cold == 0 {
		return h.lo + randLong(r, h.hot)
	}
	return h.lo + h.hot + randLong(r, h.cold)
}

// Exponential is YCSB's ExponentialGenerator: draws with
// P(x < rangeLen) = percentile/100; the workload subtracts them from the
// latest key so recent keys are the most popular.
type Exponential struct{ gamma float64 }

// NewExponential returns an exponential generator where percentile percent
// of draws fall below rangeLen.
func NewExponential(percentile, rangeLen float64) *Exponential {
	return &Exponential{gamma: -math.Log(1-percentile/100) / rangeLen}
}

// Next returns an exponentially distributed integer.
func (e *Exponential) Next(r *rand.Rand) int64 {
	return int64(-math.Log(r.Float64()) / e.gamma)
}
