package ycsb

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// within reports whether got is within tol (absolute) of want.
func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestUniformFrequencies(t *testing.T) {
	r := newRand()
	g := Uniform{Lo: 10, Hi: 19}
	const n = 200000
	counts := map[int64]int{}
	for range n {
		v := g.Next(r)
		if v < 10 || v > 19 {
			t.Fatalf("value %d outside [10, 19]", v)
		}
		counts[v]++
	}
	for v := int64(10); v <= 19; v++ {
		if f := float64(counts[v]) / n; !within(f, 0.1, 0.005) {
			t.Errorf("value %d: frequency %.4f, want 0.1", v, f)
		}
	}
}

// TestZipfianFrequencies compares the head of the distribution with
// theory: P(i) = (i+1)^-theta / zeta(n, theta). Gray's method is exact for
// the two most popular items and close for the rest.
func TestZipfianFrequencies(t *testing.T) {
	r := newRand()
	const items, n = 1000, 400000
	g := NewZipfian(0, items-1, ZipfianConstant)
	zeta := zetaStatic(0, items, ZipfianConstant, 0)
	counts := make([]int, items)
	for range n {
		v := g.Next(r)
		if v < 0 || v >= items {
			t.Fatalf("value %d outside [0, %d)", v, items)
		}
		counts[v]++
	}
	for i, tol := range []float64{0.003, 0.003} {
		want := math.Pow(float64(i+1), -ZipfianConstant) / zeta
		if f := float64(counts[i]) / n; !within(f, want, tol) {
			t.Errorf("item %d: frequency %.4f, want %.4f", i, f, want)
		}
	}
	// The share of the 10%% most popular items, summed from theory.
	var head, want float64
	for i := range items / 10 {
		head += float64(counts[i]) / n
		want += math.Pow(float64(i+1), -ZipfianConstant) / zeta
	}
	if !within(head, want, 0.03) {
		t.Errorf("top 10%% share %.3f, want %.3f", head, want)
	}
}

func TestScrambledZipfian(t *testing.T) {
	r := newRand()
	g := NewScrambledZipfian(100, 1099, ZipfianConstant)
	const n = 200000
	counts := map[int64]int{}
	for range n {
		v := g.Next(r)
		if v < 100 || v > 1099 {
			t.Fatalf("value %d outside [100, 1099]", v)
		}
		counts[v]++
	}
	// The most popular draw of the underlying zipfian (item 0, probability
	// 1/ZETAN) lands on 100 + fnvhash64(0) mod 1000.
	hot := 100 + FNVHash64(0)%1000
	want := 1 / ScrambledZetan
	if f := float64(counts[hot]) / n; f < want-0.003 {
		t.Errorf("hottest key %d: frequency %.4f, want at least %.4f", hot, f, want)
	}
	if len(counts) < 900 {
		t.Errorf("only %d of 1000 keys drawn; scrambling should spread them", len(counts))
	}
}

func TestHotspotFractions(t *testing.T) {
	r := newRand()
	g := NewHotspot(0, 999, 0.2, 0.8)
	const n = 200000
	hot := 0
	for range n {
		v := g.Next(r)
		if v < 0 || v > 999 {
			t.Fatalf("value %d outside [0, 999]", v)
		}
		if v < 200 {
			hot++
		}
	}
	if f := float64(hot) / n; !within(f, 0.8, 0.005) {
		t.Errorf("hot share %.4f, want 0.8", f)
	}
}

func TestSkewedLatest(t *testing.T) {
	r := newRand()
	acks := NewAckCounter(1000) // records 0..999 loaded
	g := NewSkewedLatest(acks)
	const n = 200000
	latest := 0
	for range n {
		v := g.Next(r)
		if v < 0 || v > 999 {
			t.Fatalf("value %d outside [0, 999]", v)
		}
		if v == 999 {
			latest++
		}
	}
	want := 1 / zetaStatic(0, 999, ZipfianConstant, 0)
	if f := float64(latest) / n; !within(f, want, 0.004) {
		t.Errorf("latest key frequency %.4f, want %.4f", f, want)
	}
	// Inserting moves the head: after 1000 is acknowledged it is the hottest.
	acks.Acknowledge(acks.Next(r))
	top := 0
	for range 20000 {
		if g.Next(r) == 1000 {
			top++
		}
	}
	if top < 20000/20 {
		t.Errorf("new latest key drawn %d times of 20000", top)
	}
}

func TestExponential(t *testing.T) {
	r := newRand()
	g := NewExponential(95, 1000)
	const n = 200000
	below := 0
	for range n {
		if g.Next(r) < 1000 {
			below++
		}
	}
	if f := float64(below) / n; !within(f, 0.95, 0.005) {
		t.Errorf("P(x < 1000) = %.4f, want 0.95", f)
	}
}

func TestSequentialWraps(t *testing.T) {
	g := NewSequential(5, 7)
	var got []int64
	for range 7 {
		got = append(got, g.Next(nil))
	}
	want := []int64{5, 6, 7, 5, 6, 7, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestAckCounterOutOfOrder(t *testing.T) {
	c := NewAckCounter(10)
	if c.Last() != 9 {
		t.Fatalf("Last = %d, want 9", c.Last())
	}
	a, b, d := c.Next(nil), c.Next(nil), c.Next(nil) // 10, 11, 12
	c.Acknowledge(b)
	c.Acknowledge(d)
	if c.Last() != 9 {
		t.Errorf("Last = %d before 10 is acknowledged, want 9", c.Last())
	}
	c.Acknowledge(a)
	if c.Last() != 12 {
		t.Errorf("Last = %d, want 12", c.Last())
	}
}

func TestAckCounterConcurrent(t *testing.T) {
	c := NewAckCounter(0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Acknowledge(c.Next(nil))
			}
		})
	}
	wg.Wait()
	if c.Last() != 7999 {
		t.Errorf("Last = %d, want 7999", c.Last())
	}
}

func TestOpChooserProportions(t *testing.T) {
	w, err := NewWorkload(Properties{"readproportion": "0.5", "updateproportion": "0.3", "insertproportion": "0.2"})
	if err != nil {
		t.Fatal(err)
	}
	c := w.opChooser()
	r := newRand()
	const n = 100000
	var counts [numOps]int
	for range n {
		counts[c.next(r)]++
	}
	for op, want := range map[Op]float64{OpRead: 0.5, OpUpdate: 0.3, OpInsert: 0.2, OpScan: 0} {
		if f := float64(counts[op]) / n; !within(f, want, 0.01) {
			t.Errorf("%v: share %.3f, want %.2f", op, f, want)
		}
	}
}

func BenchmarkScrambledZipfianNext(b *testing.B) {
	r := newRand()
	g := NewScrambledZipfian(0, 999999, ZipfianConstant)
	for b.Loop() {
		g.Next(r)
	}
}
