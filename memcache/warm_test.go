package memcache

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// Warm changes nothing a client can see: statistics, item stats, the LRU
// order (cachedump lists it) and every item stay as they were, whatever
// keys it is given, present, missing, malformed or too many, and during a
// hash table expansion too.
func TestWarmChangesNothing(t *testing.T) {
	// 1024 buckets grow past 1536 items, two old buckets moving per
	// insert: at 1700 the table is part way through its expansion.
	c := newTestCache(t, func(cfg *Config) { cfg.HashPowerInit = 10 })
	var keys [][]byte
	for i := range 1700 {
		k := []byte(fmt.Sprintf("key:%d", i))
		keys = append(keys, k)
		if res, _, err := c.Store(ModeSet, k, uint32(i), 0, bytes.Repeat([]byte{'v'}, i%100), StoreOptions{}); res != Stored || err != nil {
			t.Fatalf("store %s: %v %v", k, res, err)
		}
	}
	if !c.hash.expanding() {
		t.Fatal("the hash table should be expanding")
	}
	type snapshot struct {
		stats        Stats
		items, slabs []Stat
		dump         []CacheDumpItem
		hits, misses uint64
	}
	take := func() snapshot {
		s := c.Stats()
		return snapshot{stats: s, items: c.ItemStats(), slabs: c.SlabStats(), dump: c.CacheDump(1, 0), hits: s.GetHits, misses: s.GetMisses}
	}
	before := take()
	for _, batch := range [][][]byte{
		nil,
		keys[:1],
		keys[:8],
		keys[100 : 100+3*MaxWarm], // more than Warm looks at
		{[]byte("missing"), {}, []byte("with space"), bytes.Repeat([]byte{0xff}, 300)},
	} {
		c.Warm(batch)
	}
	if after := take(); !reflect.DeepEqual(before, after) {
		t.Fatalf("Warm changed the cache:\nbefore %+v\nafter  %+v", before, after)
	}
	for i, k := range keys {
		v, ok := c.Get(k)
		if !ok || v.Flags != uint32(i) || len(v.Value) != i%100 {
			t.Fatalf("get %s after Warm: %v %+v", k, ok, v)
		}
	}
}
