package memcache

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// Prefetch changes nothing a client can see, nor anything else: every byte
// of the slab pages (items, their flags and LRU links) and of the hash
// table, and every statistic, stays as it was, whatever keys it is given
// (present, expired, flushed, missing, malformed, too many), and in the
// middle of a hash table expansion too.
func TestPrefetchChangesNothing(t *testing.T) {
	// 1024 buckets grow past 1536 items, two old buckets moving per
	// insert: at 1700 the table is part way through its expansion.
	c := newTestCache(t, func(cfg *Config) { cfg.HashPowerInit = 10 })
	store := func(k []byte, exptime int64, size int) {
		t.Helper()
		if res, _, err := c.Store(ModeSet, k, 7, exptime, bytes.Repeat([]byte{'v'}, size), StoreOptions{}); res != Stored || err != nil {
			t.Fatalf("store %s: %v %v", k, res, err)
		}
	}
	// The expired and the flushed item stay linked, to be found dead
	// lazily: the clock moves on without a Tick (whose crawler would
	// reclaim them), and their values, 2 and 4 KB, give each a slab class
	// of its own, whose later allocations would pull it from the LRU tail.
	expired, flushed := []byte("expires"), []byte("flushed")
	store(flushed, 0, 4000)
	c.FlushAll(0) // flushes what was stored before it
	store(expired, 1, 2000)
	c.now += 3
	var keys [][]byte
	for i := range 1700 {
		keys = append(keys, []byte(fmt.Sprintf("key:%d", i)))
		store(keys[i], 0, len(keys[i]))
	}
	if !c.hash.expanding() {
		t.Fatal("the hash table should be expanding")
	}
	for _, k := range [][]byte{expired, flushed} {
		if c.find(k, c.hash.hash(k)) == 0 {
			t.Fatalf("%s should still be linked (lazily expired), so that Prefetch meets it", k)
		}
	}
	type snapshot struct {
		pages        [][]byte
		primary, old []uint32
		expandBucket uint32
		stats        Stats
		items, slabs []Stat
	}
	take := func() snapshot {
		s := snapshot{primary: slices.Clone(c.hash.primary), old: slices.Clone(c.hash.old), expandBucket: c.hash.expandBucket,
			stats: c.Stats(), items: c.ItemStats(), slabs: c.SlabStats()}
		for _, p := range c.pageMem {
			s.pages = append(s.pages, bytes.Clone(p))
		}
		return s
	}
	before := take()
	for _, batch := range [][][]byte{
		nil,
		keys[:1],
		{expired, flushed, keys[5]},
		keys[100 : 100+3*MaxPrefetch], // more than Prefetch looks at
		{[]byte("missing"), {}, []byte("with space"), bytes.Repeat([]byte{0xff}, 300)},
	} {
		c.Prefetch(batch)
	}
	if after := take(); !reflect.DeepEqual(before, after) {
		for i := range before.pages {
			if !bytes.Equal(before.pages[i], after.pages[i]) {
				t.Errorf("Prefetch changed slab page %d", i)
			}
		}
		if !reflect.DeepEqual(before.stats, after.stats) || !reflect.DeepEqual(before.items, after.items) || !reflect.DeepEqual(before.slabs, after.slabs) {
			t.Errorf("Prefetch changed the statistics:\nbefore %+v %v %v\nafter  %+v %v %v", before.stats, before.items, before.slabs, after.stats, after.items, after.slabs)
		}
		t.Fatal("Prefetch changed the cache")
	}
	for i, k := range keys {
		if v, ok := c.Get(k); !ok || len(v.Value) != len(k) {
			t.Fatalf("get %s (%d) after Prefetch: %v %+v", k, i, ok, v)
		}
	}
	for _, k := range [][]byte{expired, flushed} {
		if _, ok := c.Get(k); ok {
			t.Fatalf("%s is a hit after Prefetch", k)
		}
	}
}
