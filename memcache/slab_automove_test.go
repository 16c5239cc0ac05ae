package memcache

import (
	"strconv"
	"strings"
	"testing"
)

// shiftWorkload fills a cache with small values, then switches to a
// working set of large values that fits in memory only if pages move to
// the large values' class. Each round of the second phase gets every key
// once (setting it on a miss) and advances the clock a second. It returns
// the hit rate of the last rounds.
func shiftWorkload(t *testing.T, automove int, rounds int) float64 {
	c := newTestCache(t, func(cfg *Config) {
		cfg.MaxBytes = 8 << 20
		cfg.SlabAutomove = automove
	})
	small := strings.Repeat("s", 100)
	for i := 0; i < 75000; i++ {
		set(t, c, "small"+strconv.Itoa(i), small)
	}
	large := strings.Repeat("L", 2000)
	const keys = 2500 // about 5 MB of the 8
	var hits, gets int
	for r := 0; r < rounds; r++ {
		if r == rounds-5 {
			hits, gets = 0, 0
		}
		for i := 0; i < keys; i++ {
			k := "large" + strconv.Itoa(i)
			gets++
			if _, ok := c.Get([]byte(k)); ok {
				hits++
				continue
			}
			set(t, c, k, large)
			if i%250 == 0 {
				c.Tick(c.Now()) // the agent's ticks come several times a second
			}
		}
		advance(c, 1)
	}
	checkInvariants(t, c)
	return float64(hits) / float64(gets)
}

// TestAutomoveRecoversHitRate: without automove the large values keep one
// page and miss nearly always; automove 2 moves pages on evictions, and
// automove 1 once its 30-second window has seen the class starve.
func TestAutomoveRecoversHitRate(t *testing.T) {
	off := shiftWorkload(t, 0, 10)
	aggressive := shiftWorkload(t, 2, 10)
	windowed := shiftWorkload(t, 1, 40)
	t.Logf("hit rate in the last 5 rounds: automove 0 %.3f, 1 %.3f, 2 %.3f", off, windowed, aggressive)
	if off > 0.2 {
		t.Errorf("automove 0: hit rate %.3f, expected the large class to stay starved", off)
	}
	if aggressive < 0.95 {
		t.Errorf("automove 2: hit rate %.3f, expected recovery", aggressive)
	}
	if windowed < 0.95 {
		t.Errorf("automove 1: hit rate %.3f, expected recovery", windowed)
	}
}

// TestAutomoveFreesIdlePages: a class that holds more than 2.5 pages of
// free chunks and saw no eviction or growth over the window gives pages
// back to the global pool.
func TestAutomoveFreesIdlePages(t *testing.T) {
	c := newTestCache(t, nil)
	for i := 0; i < 50000; i++ {
		set(t, c, "k"+strconv.Itoa(i), strings.Repeat("f", 100))
	}
	for i := 0; i < 50000; i++ {
		c.Delete([]byte("k"+strconv.Itoa(i)), DeleteOptions{})
	}
	for i := 0; i < 40 && c.Stats().SlabGlobalPagePool == 0; i++ {
		advance(c, 1)
	}
	if c.Stats().SlabGlobalPagePool == 0 {
		t.Fatal("no page went to the global pool")
	}
	checkInvariants(t, c)
}

// TestAutomove2ChainsMoves: evictions that found the mover busy are served
// by the next move in the same Tick, as memcached's mover thread serves the
// next eviction at once.
func TestAutomove2ChainsMoves(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) {
		cfg.MaxBytes = 8 << 20
		cfg.SlabAutomove = 2
	})
	for i := 0; i < 75000; i++ {
		set(t, c, "small"+strconv.Itoa(i), strings.Repeat("s", 100))
	}
	for i := 0; i < 1000; i++ {
		set(t, c, "large"+strconv.Itoa(i), strings.Repeat("L", 2000))
	}
	if !c.mover.running || c.mover.next == 0 {
		t.Fatalf("mover running %v, next %d: the evictions did not ask twice", c.mover.running, c.mover.next)
	}
	c.Tick(c.Now())
	if moved := c.Stats().SlabsMoved; moved != 2 {
		t.Fatalf("%d pages moved in one tick, want 2 (the request and the one that found it busy)", moved)
	}
	checkInvariants(t, c)
}
