package memcache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
)

const benchKeys = 10_000

func benchKey(i int) []byte { return []byte(fmt.Sprintf("key:%010d", i)) }

// BenchmarkEngineGet1KB measures hits on 1 KB values. keys=10000 is a hot
// set that fits the CPU caches (12 MB of items); keys=100000 (120 MB) is
// bound by DRAM latency: two dependent cache misses per get (bucket, item).
func BenchmarkEngineGet1KB(b *testing.B) {
	for _, nkeys := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("keys=%d", nkeys), func(b *testing.B) { benchGet(b, nkeys) })
	}
}

// preload stores nkeys items of 1 KB and returns their keys.
func preload(b *testing.B, c *Cache, nkeys int) [][]byte {
	keys := make([][]byte, nkeys)
	val := make([]byte, 1024)
	for i := range keys {
		keys[i] = benchKey(i)
		if res, _, _ := c.Store(ModeSet, keys[i], 0, 0, val, StoreOptions{}); res != Stored {
			b.Fatalf("preload: %v", res)
		}
	}
	return keys
}

func benchGet(b *testing.B, nkeys int) {
	c := newTestCache(b, func(cfg *Config) { cfg.MaxBytes = 512 << 20 })
	keys := preload(b, c, nkeys)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		v, ok := c.Get(keys[i%nkeys])
		if ok {
			n += len(v.Value)
		}
	}
	if n != b.N*1024 {
		b.Fatalf("missed: %d bytes for %d gets", n, b.N)
	}
}

func BenchmarkEngineSet1KB(b *testing.B) {
	c := newTestCache(b, func(cfg *Config) { cfg.MaxBytes = 512 << 20 })
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	val := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, _, _ := c.Store(ModeSet, keys[i%benchKeys], 0, 0, val, StoreOptions{}); res != Stored {
			b.Fatalf("set: %v", res)
		}
	}
}

// BenchmarkEngineMemory1M stores one million 1 KB items and reports the Go
// heap and slab bytes per item (compare with memcached: about 1184 bytes of
// slab chunk plus 8 bytes of hash bucket per item at these sizes).
func BenchmarkEngineMemory1M(b *testing.B) {
	const items = 1_000_000
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		c := newTestCache(b, func(cfg *Config) { cfg.MaxBytes = 2 << 30 })
		val := make([]byte, 1024)
		key := []byte("key:0000000000")
		for j := 0; j < items; j++ {
			key = strconv.AppendInt(key[:4], int64(j), 10)
			if res, _, _ := c.Store(ModeSet, key, 0, 0, val, StoreOptions{}); res != Stored {
				b.Fatalf("item %d: %v", j, res)
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		s := c.Stats()
		if s.CurrItems != items {
			b.Fatalf("curr_items %d", s.CurrItems)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/items, "heap-B/item")
		b.ReportMetric(float64(s.TotalMalloced)/items, "slab-B/item")
		b.ReportMetric(float64(after.Sys)/items, "sys-B/item")
		runtime.KeepAlive(c)
	}
}

// BenchmarkEngineGetRandom1KB measures hits on 1 KB values in random order
// over 500,000 items (600 MB of slab pages), with -m's pages allocated one
// by one (default) and cut from -L's huge-page chunk (large): each get
// touches a random bucket and a random item, so it pays TLB misses on top
// of cache misses unless the pages are huge.
func BenchmarkEngineGetRandom1KB(b *testing.B) {
	for _, large := range []bool{false, true} {
		name := "pages=default"
		if large {
			name = "pages=large"
		}
		b.Run(name, func(b *testing.B) {
			const nkeys = 500_000
			c := newTestCache(b, func(cfg *Config) { cfg.MaxBytes = 1 << 30; cfg.Preallocate = large })
			keys := preload(b, c, nkeys)
			order := rand.New(rand.NewPCG(1, 2)).Perm(nkeys)
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				v, ok := c.Get(keys[order[i%nkeys]])
				if ok {
					n += len(v.Value)
				}
			}
			if n != b.N*1024 {
				b.Fatalf("missed: %d bytes for %d gets", n, b.N)
			}
		})
	}
}
