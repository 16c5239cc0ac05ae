package memcache

import (
	"fmt"
	"testing"
)

func TestSetMemLimitRaisesAndLowers(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.MaxBytes = 8 << 20 })
	val := make([]byte, 1000)
	fill := func(from, n int) {
		for i := from; i < from+n; i++ {
			if res, _, err := c.Store(ModeSet, []byte(fmt.Sprint("k", i)), 0, 0, val, StoreOptions{}); err != nil || res != Stored {
				t.Fatalf("store %d: %v %v", i, res, err)
			}
		}
	}
	fill(0, 20000)
	if c.malloced > 8<<20 {
		t.Fatalf("malloced %d over -m 8", c.malloced)
	}
	if err := c.SetMemLimit(16 << 20); err != nil {
		t.Fatal(err)
	}
	fill(20000, 20000)
	if c.malloced <= 8<<20 || c.malloced > 16<<20 {
		t.Fatalf("after raising to 16m, malloced %d", c.malloced)
	}
	grown, items := c.malloced, c.g.currItems
	evBefore := c.Stats().Evictions
	if err := c.SetMemLimit(8 << 20); err != nil {
		t.Fatal(err)
	}
	fill(40000, 20000)
	if c.malloced != grown || c.g.currItems > items {
		t.Errorf("after lowering: malloced %d (was %d), items %d (was %d); want no growth", c.malloced, grown, c.g.currItems, items)
	}
	if c.Stats().Evictions <= evBefore {
		t.Errorf("lowering the limit did not make stores evict")
	}
	if c.Config().MaxBytes != 8<<20 {
		t.Errorf("MaxBytes %d", c.Config().MaxBytes)
	}
	if err := c.SetMemLimit(1 << 50); err == nil {
		t.Error("a limit beyond what item references address was accepted")
	}
}

func TestLRUTuneModeAndTempTTL(t *testing.T) {
	c := newTestCache(t, nil)
	if err := c.SetLRUTuning(50, 40, 0.1, 2); err == nil {
		t.Error("hot+warm 90 accepted")
	}
	if err := c.SetLRUTuning(10, 25, 0, 2); err == nil {
		t.Error("hot factor 0 accepted")
	}
	if err := c.SetLRUTuning(10, 25, 0.1, 2); err != nil || c.Config().HotLRUPct != 10 || c.Config().WarmMaxFactor != 2 {
		t.Errorf("tune: %v %+v", err, c.Config())
	}
	c.SetTempTTL(30)
	c.Store(ModeSet, []byte("short"), 0, 20, []byte("v"), StoreOptions{})
	c.Store(ModeSet, []byte("long"), 0, 100, []byte("v"), StoreOptions{})
	c.Store(ModeSet, []byte("never"), 0, 0, []byte("v"), StoreOptions{})
	c.SetFlatLRU(true)
	c.Store(ModeSet, []byte("flat"), 0, 0, []byte("v"), StoreOptions{})
	lruOf := func(k string) int {
		ref := c.find([]byte(k), c.hash.hash([]byte(k)))
		if ref == 0 {
			t.Fatalf("%s not stored", k)
		}
		return lruID(c.chunk(ref))
	}
	// HOT items may have moved to COLD since (the maintainer runs on
	// every store); none enters TEMP but the short TTL.
	if lruOf("short") != lruTemp || lruOf("long") == lruTemp || lruOf("never") == lruTemp || lruOf("flat") != lruCold {
		t.Errorf("lists short %d long %d never %d flat %d; want short in TEMP (%d), flat in COLD (%d)",
			lruOf("short"), lruOf("long"), lruOf("never"), lruOf("flat"), lruTemp, lruCold)
	}
	found := false
	for _, s := range c.ItemStats() {
		if s.Name == "items:1:number_temp" {
			found = s.Value == "1"
		}
	}
	if !found {
		t.Errorf("stats items lacks items:1:number_temp 1: %v", c.ItemStats())
	}
	c.SetTempTTL(-1)
	for _, s := range c.ItemStats() {
		if s.Name == "items:1:number_temp" {
			t.Error("number_temp printed with temp_lru off, which memcached does not")
		}
	}
}

func TestSizesEnableDisable(t *testing.T) {
	c := newTestCache(t, nil)
	c.Store(ModeSet, []byte("before"), 0, 0, []byte("v"), StoreOptions{})
	if got := c.SizeStats(); len(got) != 1 || got[0].Value != "disabled" {
		t.Fatalf("sizes before enabling: %v", got)
	}
	c.SetSizesTracking(true)
	if got := c.SizeStats(); len(got) != 0 {
		t.Errorf("items stored before enabling are counted: %v", got)
	}
	c.Delete([]byte("before"), DeleteOptions{}) // never counted: must not underflow
	c.Store(ModeSet, []byte("b"), 0, 0, []byte("abc"), StoreOptions{})
	if got := c.SizeStats(); len(got) != 1 || got[0].Name != "64" || got[0].Value != "1" {
		t.Errorf("sizes after one store: %v, want 64 1 as memcached", got)
	}
	c.SetSizesTracking(false)
	if got := c.SizeStats(); len(got) != 1 || got[0].Value != "disabled" {
		t.Errorf("sizes after disabling: %v", got)
	}
}
