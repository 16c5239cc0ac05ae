package memcache

import (
	"testing"
	"time"
)

// t0 is the test clock's start; tests advance it with tick.
var t0 = time.Unix(1_700_000_000, 0)

func newTestCache(t testing.TB, mutate func(*Config)) *Cache {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg, t0)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// advance moves the cache clock forward by secs seconds.
func advance(c *Cache, secs int64) {
	c.Tick(c.Now().Add(time.Duration(secs) * time.Second))
}

func mustStore(t testing.TB, c *Cache, mode Mode, key, value string, flags uint32, exptime int64, opt StoreOptions) (Result, uint64) {
	t.Helper()
	res, cas, err := c.Store(mode, []byte(key), flags, exptime, []byte(value), opt)
	if err != nil {
		t.Fatalf("Store(%v, %q): %v", mode, key, err)
	}
	return res, cas
}

func set(t testing.TB, c *Cache, key, value string) uint64 {
	t.Helper()
	res, cas := mustStore(t, c, ModeSet, key, value, 0, 0, StoreOptions{})
	if res != Stored {
		t.Fatalf("set %q: %v", key, res)
	}
	return cas
}

// getString returns the value and whether key was found.
func getString(c *Cache, key string) (string, bool) {
	v, ok := c.Get([]byte(key))
	if !ok {
		return "", false
	}
	return string(v.Value), true
}

// checkInvariants walks every structure and cross-checks the counts.
func checkInvariants(t testing.TB, c *Cache) {
	t.Helper()
	// Hash table: every chained item is linked and hashes to its bucket.
	seen := 0
	walk := func(tab []uint32, from int, name string) {
		for b := from; b < len(tab); b++ {
			ref := tab[b]
			for ref != 0 {
				it := c.chunk(ref)
				if iflags(it)&itemLinked == 0 {
					t.Fatalf("%s bucket %d: unlinked item %d in chain", name, b, ref)
				}
				if int(itHash(it)&uint32(len(tab)-1)) != b {
					t.Fatalf("%s bucket %d: item hash %x in wrong bucket", name, b, itHash(it))
				}
				seen++
				ref = hnext(it)
			}
		}
	}
	walk(c.hash.primary, 0, "primary")
	if c.hash.old != nil {
		for b := 0; b < int(c.hash.expandBucket); b++ {
			if c.hash.old[b] != 0 {
				t.Fatalf("migrated old bucket %d is not empty", b)
			}
		}
		walk(c.hash.old, int(c.hash.expandBucket), "old")
	}
	if uint32(seen) != c.hash.count || uint64(seen) != c.g.currItems {
		t.Fatalf("hash holds %d items, count %d, curr_items %d", seen, c.hash.count, c.g.currItems)
	}
	// LRUs: lists are consistent and hold exactly the linked items.
	inLRU := 0
	var bytes uint64
	for id := 1; id < len(c.classes); id++ {
		p := &c.classes[id]
		for lru := 0; lru < numLRU; lru++ {
			n := uint32(0)
			var b uint64
			prev := uint32(0)
			for ref := p.heads[lru]; ref != 0; {
				it := c.chunk(ref)
				if lprev(it) != prev || lruID(it) != lru || clsid(it) != id {
					t.Fatalf("class %d lru %d: broken links at %d", id, lru, ref)
				}
				n++
				b += uint64(c.itemNTotal(it))
				prev = ref
				ref = lnext(it)
			}
			if p.tails[lru] != prev || p.counts[lru] != n || p.lruBytes[lru] != b {
				t.Fatalf("class %d lru %d: tail/count/bytes mismatch (%d items, count %d)", id, lru, n, p.counts[lru])
			}
			inLRU += int(n)
			bytes += b
		}
	}
	if inLRU != seen || bytes != c.g.bytes {
		t.Fatalf("LRUs hold %d items / %d bytes, hash %d items, bytes stat %d", inLRU, bytes, seen, c.g.bytes)
	}
	checkSlabs(t, c)
}
