package memcache

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// smallCache holds 4 pages: 3540 items of class 12 (1184-byte chunks).
func smallCache(t *testing.T, noEvict bool) *Cache {
	return newTestCache(t, func(cfg *Config) {
		cfg.MaxBytes = 4 << 20
		cfg.NoEvict = noEvict
	})
}

var kb = strings.Repeat("x", 1000)

func TestEvictionOldestFirst(t *testing.T) {
	c := smallCache(t, false)
	const n = 10000
	for i := 0; i < n; i++ {
		set(t, c, "k"+itoa(i), kb)
	}
	s := c.Stats()
	if s.Evictions == 0 || s.CurrItems+s.Evictions != n {
		t.Fatalf("evictions %d curr_items %d", s.Evictions, s.CurrItems)
	}
	if s.TotalMalloced > 4<<20 {
		t.Fatalf("malloced %d over the limit", s.TotalMalloced)
	}
	if _, ok := getString(c, "k0"); ok {
		t.Fatal("oldest item survived")
	}
	// The newest half of what fits must all be present.
	for i := n - int(s.CurrItems)/2; i < n; i++ {
		if _, ok := getString(c, "k"+itoa(i)); !ok {
			t.Fatalf("recent item k%d evicted", i)
		}
	}
	if s.EvictedUnfetched != s.Evictions {
		t.Fatalf("evicted_unfetched %d != evictions %d", s.EvictedUnfetched, s.Evictions)
	}
	checkInvariants(t, c)
}

func TestEvictionKeepsHotItems(t *testing.T) {
	c := smallCache(t, false)
	hot := []string{"hot0", "hot1", "hot2", "hot3", "hot4"}
	for _, k := range hot {
		set(t, c, k, kb)
	}
	for i := 0; i < 20000; i++ {
		set(t, c, "k"+itoa(i), kb)
		if i%200 == 0 {
			advance(c, 1)
			for _, k := range hot {
				// Two hits make an item active, like memcached.
				c.Get([]byte(k))
				c.Get([]byte(k))
			}
		}
	}
	for _, k := range hot {
		ref, it := c.lookup([]byte(k))
		if ref == 0 {
			t.Fatalf("hot item %s was evicted", k)
		}
		if lruID(it) == lruCold {
			t.Fatalf("hot item %s sits in COLD", k)
		}
	}
	if s := c.Stats(); s.Evictions == 0 {
		t.Fatal("no evictions")
	}
	checkInvariants(t, c)
}

func TestNoEvictOutOfMemory(t *testing.T) {
	c := smallCache(t, true)
	stored := 0
	for i := 0; i < 10000; i++ {
		res, _ := mustStore(t, c, ModeSet, "k"+itoa(i), kb, 0, 0, StoreOptions{})
		if res == NoMemory {
			break
		}
		if res != Stored {
			t.Fatalf("store %d: %v", i, res)
		}
		stored++
	}
	if stored == 0 || stored == 10000 {
		t.Fatalf("stored %d items under -M", stored)
	}
	for i := 0; i < stored; i++ {
		if _, ok := getString(c, "k"+itoa(i)); !ok {
			t.Fatalf("item k%d lost under -M", i)
		}
	}
	s := c.Stats()
	if s.Evictions != 0 || s.StoreNoMemory != 1 {
		t.Fatalf("evictions %d store_no_memory %d", s.Evictions, s.StoreNoMemory)
	}
	found := false
	for _, st := range c.ItemStats() {
		if strings.HasSuffix(st.Name, ":outofmemory") && st.Value != "0" {
			found = true
		}
	}
	if !found {
		t.Fatal("no class reports outofmemory")
	}
	// Deleting makes room again.
	c.Delete([]byte("k0"), DeleteOptions{})
	if res, _ := mustStore(t, c, ModeSet, "again", kb, 0, 0, StoreOptions{}); res != Stored {
		t.Fatalf("store after delete: %v", res)
	}
	checkInvariants(t, c)
}

func TestExpiredReclaimedBeforeEviction(t *testing.T) {
	c := smallCache(t, false)
	for i := 0; i < 3000; i++ {
		mustStore(t, c, ModeSet, "old"+itoa(i), kb, 0, 5, StoreOptions{})
	}
	c.now += 10 // let them expire without Tick's background work
	for i := 0; i < 3000; i++ {
		set(t, c, "new"+itoa(i), kb)
	}
	s := c.Stats()
	if s.Evictions != 0 || s.Reclaimed == 0 {
		t.Fatalf("evictions %d reclaimed %d", s.Evictions, s.Reclaimed)
	}
	if s.ExpiredUnfetched != s.Reclaimed {
		t.Fatalf("expired_unfetched %d reclaimed %d", s.ExpiredUnfetched, s.Reclaimed)
	}
	checkInvariants(t, c)
}

func TestSegmentedLRUMaintenance(t *testing.T) {
	c := newTestCache(t, nil)
	for i := 0; i < 1000; i++ {
		set(t, c, "k"+itoa(i), "v")
	}
	advance(c, 1)
	p := &c.classes[1]
	total := p.counts[lruHot] + p.counts[lruWarm] + p.counts[lruCold]
	if total != 1000 {
		t.Fatalf("class 1 holds %d", total)
	}
	// HOT may hold at most HotLRUPct of the class's bytes after juggling.
	if p.lruBytes[lruHot]*100 > uint64(c.cfg.HotLRUPct+1)*(p.lruBytes[lruHot]+p.lruBytes[lruWarm]+p.lruBytes[lruCold]) {
		t.Fatalf("HOT holds %d of %d items after Tick", p.counts[lruHot], total)
	}
	if p.counts[lruCold] == 0 {
		t.Fatal("nothing flowed to COLD")
	}
	// An item fetched twice while in COLD moves to WARM.
	cold := itKey(c.chunk(p.tails[lruCold]))
	key := string(cold)
	c.Get([]byte(key))
	c.Get([]byte(key))
	ref, it := c.lookup([]byte(key))
	if ref == 0 || lruID(it) != lruWarm {
		t.Fatalf("item %s not in WARM after two hits (lru %d)", key, lruID(it))
	}
	checkInvariants(t, c)
}

func TestSlabClasses(t *testing.T) {
	c := newTestCache(t, nil)
	// memcached 1.6.18 -vv with defaults: the first 38 classes.
	want := []uint32{96, 120, 152, 192, 240, 304, 384, 480, 600, 752, 944, 1184, 1480, 1856, 2320,
		2904, 3632, 4544, 5680, 7104, 8880, 11104, 13880, 17352, 21696, 27120, 33904, 42384, 52984,
		66232, 82792, 103496, 129376, 161720, 202152, 252696, 315872, 394840}
	for i, w := range want {
		if got := c.classes[i+1].size; got != w {
			t.Fatalf("class %d size %d, want %d", i+1, got, w)
		}
	}
	if last := c.classes[len(c.classes)-1]; last.size != 1<<20 || last.perSlab != 1 {
		t.Fatalf("largest class %d x %d", last.size, last.perSlab)
	}
	tests := []struct {
		ntotal, class int
	}{
		{1, 1}, {96, 1}, {97, 2}, {1184, 12}, {1185, 13}, {1 << 20, len(c.classes) - 1}, {1<<20 + 1, 0}, {0, 0},
	}
	for _, tc := range tests {
		if got := c.clsidFor(tc.ntotal); got != tc.class {
			t.Fatalf("clsidFor(%d) = %d, want %d", tc.ntotal, got, tc.class)
		}
	}
	// A 1 KB value with a short key lands where memcached puts it.
	set(t, c, "key:1", strings.Repeat("v", 1024))
	v, _ := c.Get([]byte("key:1"))
	if v.Class != 12 {
		t.Fatalf("1 KB item in class %d, want 12", v.Class)
	}
}

func TestLargeItemSizeMax(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) {
		cfg.ItemSizeMax = 4 << 20
		cfg.MaxBytes = 64 << 20
	})
	big := strings.Repeat("b", 3<<20)
	set(t, c, "big", big)
	if v, ok := getString(c, "big"); !ok || v != big {
		t.Fatal("3 MB item did not round-trip")
	}
	if res, _ := mustStore(t, c, ModeSet, "huge", strings.Repeat("h", 4<<20), 0, 0, StoreOptions{}); res != TooLarge {
		t.Fatalf("4 MB value: %v", res)
	}
	checkInvariants(t, c)
}

func TestItemSizeMax128MB(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MB")
	}
	c := newTestCache(t, func(cfg *Config) {
		cfg.ItemSizeMax = ItemSizeMaxLimit
		cfg.MaxBytes = 256 << 20
	})
	n := ItemSizeMaxLimit - c.ntotal(3, 0, 0)
	r, res, err := c.Reserve(ModeSet, []byte("big"), 0, 0, n, StoreOptions{})
	if err != nil || res != Stored {
		t.Fatalf("reserve %d bytes: %v %v", n, res, err)
	}
	r.Value[0], r.Value[n-1] = 'a', 'z'
	if res, _, _ := c.Commit(&r); res != Stored {
		t.Fatalf("commit: %v", res)
	}
	v, ok := c.Get([]byte("big"))
	if !ok || len(v.Value) != n || v.Value[0] != 'a' || v.Value[n-1] != 'z' {
		t.Fatalf("128 MB item: found %v len %d", ok, len(v.Value))
	}
	if _, res, _ := c.Reserve(ModeSet, []byte("big"), 0, 0, n+1, StoreOptions{}); res != TooLarge {
		t.Fatalf("one byte more: %v", res)
	}
}

// TestPreallocate: -L gives every class its first page at start, as
// memcached's slabs_preallocate does, and further pages come from the same
// chunk until -m is used up.
func TestPreallocate(t *testing.T) {
	probe := newTestCache(t, nil)
	classes := int64(len(probe.classes) - 1)
	const extra = 4
	c := newTestCache(t, func(cfg *Config) { cfg.MaxBytes = (classes + extra) << 20; cfg.Preallocate = true })
	if s := c.Stats(); s.TotalMalloced != uint64(classes)<<20 || s.SlabGlobalPagePool != 0 {
		t.Fatalf("at start: malloced %d, want a page for each of %d classes; pool %d", s.TotalMalloced, classes, s.SlabGlobalPagePool)
	}
	for id := 1; id < len(c.classes); id++ {
		if got := c.classes[id].totalPages; got != 1 {
			t.Fatalf("class %d has %d pages at start, want 1", id, got)
		}
	}
	for i := 0; i < 20000; i++ {
		set(t, c, "k"+itoa(i), kb)
	}
	if s := c.Stats(); s.TotalMalloced != uint64(classes+extra)<<20 || s.Evictions == 0 {
		t.Fatalf("full: malloced %d, want all of -m (%d); evictions %d", s.TotalMalloced, (classes+extra)<<20, s.Evictions)
	}
	checkInvariants(t, c)

	_, err := New(func() Config {
		cfg := DefaultConfig()
		cfg.MaxBytes = (classes - 1) << 20
		cfg.Preallocate = true
		return cfg
	}(), time.Now())
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "at least") {
		t.Fatalf("-L with -m below a page per class: %v", err)
	}
}
