package memcache

import (
	"strings"
	"testing"
)

// Names and order from a live memcached 1.6.18 ("stats items" and "stats
// slabs" after a few sets).
var memcachedItemStats = []string{"number", "number_hot", "number_warm", "number_cold", "age_hot", "age_warm",
	"age", "mem_requested", "evicted", "evicted_nonzero", "evicted_time", "outofmemory", "tailrepairs",
	"reclaimed", "expired_unfetched", "evicted_unfetched", "evicted_active", "crawler_reclaimed",
	"crawler_items_checked", "lrutail_reflocked", "moves_to_cold", "moves_to_warm", "moves_within_lru",
	"direct_reclaims", "hits_to_hot", "hits_to_warm", "hits_to_cold", "hits_to_temp"}

var memcachedSlabStats = []string{"chunk_size", "chunks_per_page", "total_pages", "total_chunks", "used_chunks",
	"free_chunks", "free_chunks_end", "get_hits", "cmd_set", "delete_hits", "incr_hits", "decr_hits",
	"cas_hits", "cas_badval", "touch_hits"}

func statMap(stats []Stat) map[string]string {
	m := map[string]string{}
	for _, s := range stats {
		m[s.Name] = s.Value
	}
	return m
}

func TestItemStatsMatchMemcached(t *testing.T) {
	c := newTestCache(t, nil)
	// The same workload as the memcached reference run: 338 bytes in 5 items.
	set(t, c, "a", "10")
	c.Decr([]byte("a"), 1)
	c.Incr([]byte("a"), 99999)
	mustStore(t, c, ModeSet, "a", "100008", 5, 0, StoreOptions{})
	set(t, c, "e", "")
	set(t, c, "sp", " 5 ")
	c.Incr([]byte("sp"), 1)
	set(t, c, "m", "-1")
	set(t, c, "big", "18446744073709551615")
	c.Incr([]byte("big"), 2)
	got := c.ItemStats()
	if len(got) != len(memcachedItemStats) {
		t.Fatalf("%d item stats, want %d", len(got), len(memcachedItemStats))
	}
	for i, name := range memcachedItemStats {
		if got[i].Name != "items:1:"+name {
			t.Fatalf("item stat %d is %s, want items:1:%s", i, got[i].Name, name)
		}
	}
	m := statMap(got)
	if m["items:1:number"] != "5" || m["items:1:mem_requested"] != "338" {
		t.Fatalf("number %s mem_requested %s, memcached says 5 and 338", m["items:1:number"], m["items:1:mem_requested"])
	}
	if s := c.Stats(); s.Bytes != 338 || s.CurrItems != 5 {
		t.Fatalf("bytes %d curr_items %d", s.Bytes, s.CurrItems)
	}
}

func TestSlabStats(t *testing.T) {
	c := newTestCache(t, nil)
	set(t, c, "a", "1")
	c.Get([]byte("a"))
	got := c.SlabStats()
	for i, name := range memcachedSlabStats {
		if got[i].Name != "1:"+name {
			t.Fatalf("slab stat %d is %s, want 1:%s", i, got[i].Name, name)
		}
	}
	m := statMap(got)
	want := map[string]string{"1:chunk_size": "96", "1:chunks_per_page": "10922", "1:total_pages": "1",
		"1:total_chunks": "10922", "1:used_chunks": "1", "1:free_chunks": "10921", "1:free_chunks_end": "0", "1:get_hits": "1",
		"1:cmd_set": "1", "active_slabs": "1", "total_malloced": "1048576"}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("%s = %q, want %q", k, m[k], v)
		}
	}
	if got[len(got)-2].Name != "active_slabs" || got[len(got)-1].Name != "total_malloced" {
		t.Fatal("active_slabs/total_malloced not last")
	}
}

func TestEngineFieldsOrder(t *testing.T) {
	c := newTestCache(t, nil)
	f := c.Stats().EngineFields()
	names := make([]string, len(f))
	for i, s := range f {
		names[i] = s.Name
	}
	joined := " " + strings.Join(names, " ") + " "
	for _, seq := range []string{
		" cmd_get cmd_set cmd_flush cmd_touch get_hits get_misses get_expired get_flushed delete_misses delete_hits ",
		" cas_misses cas_hits cas_badval touch_hits touch_misses store_too_large store_no_memory limit_maxbytes ",
		" hash_power_level hash_bytes hash_is_expanding ",
		" bytes curr_items total_items slab_global_page_pool expired_unfetched evicted_unfetched evicted_active evictions reclaimed ",
	} {
		if !strings.Contains(joined, seq) {
			t.Fatalf("stats order lacks %q", seq)
		}
	}
	m := statMap(f)
	if m["limit_maxbytes"] != "67108864" || m["hash_power_level"] != "16" {
		t.Fatalf("limit_maxbytes %s hash_power_level %s", m["limit_maxbytes"], m["hash_power_level"])
	}
}

func TestSizeStats(t *testing.T) {
	c := newTestCache(t, nil)
	if got := c.SizeStats(); len(got) != 1 || got[0] != (Stat{"sizes_status", "disabled"}) {
		t.Fatalf("disabled: %v", got)
	}
	c = newTestCache(t, func(cfg *Config) { cfg.TrackSizes = true })
	mustStore(t, c, ModeSet, "a:1", "10", 5, 100, StoreOptions{}) // 48+4+4+4+8 = 68 -> bucket 96
	set(t, c, "b:x", "10")                                        // 64 -> bucket 64
	got := c.SizeStats()
	if len(got) != 2 || got[0] != (Stat{"64", "1"}) || got[1] != (Stat{"96", "1"}) {
		t.Fatalf("sizes: %v", got)
	}
	c.Delete([]byte("b:x"), DeleteOptions{})
	if got := c.SizeStats(); len(got) != 1 {
		t.Fatalf("after delete: %v", got)
	}
}

func TestCacheDump(t *testing.T) {
	c := newTestCache(t, nil)
	for i := 0; i < 100; i++ {
		mustStore(t, c, ModeSet, "k"+itoa(i), "vvv", 0, 100, StoreOptions{})
	}
	set(t, c, "forever", "v")
	advance(c, 1) // the maintainer moves most of them to COLD
	all := c.CacheDump(1, 0)
	if len(all) == 0 {
		t.Fatal("empty dump")
	}
	for _, d := range all {
		if d.Key == "forever" {
			if d.Exptime != 0 || d.Bytes != 1 {
				t.Fatalf("forever: %+v", d)
			}
			continue
		}
		if d.Bytes != 3 || d.Exptime != t0.Unix()+100 {
			t.Fatalf("entry %+v, want 3 bytes expiring at %d", d, t0.Unix()+100)
		}
	}
	if got := c.CacheDump(1, 5); len(got) != 5 {
		t.Fatalf("limit 5 gave %d", len(got))
	}
	if got := c.CacheDump(99, 0); got != nil {
		t.Fatalf("unknown class gave %v", got)
	}
}

func TestDetail(t *testing.T) {
	c := newTestCache(t, nil)
	set(t, c, "a:0", "x") // before "on": not counted
	c.SetDetail(true)
	set(t, c, "a:1", "10")
	set(t, c, "b:x", "10")
	getString(c, "a:1")
	getString(c, "a:2")
	getString(c, "zz")
	c.Delete([]byte("a:1"), DeleteOptions{})
	c.SetDetail(false)
	set(t, c, "a:3", "x")
	got := c.DetailDump()
	want := []PrefixStats{{"b", 0, 0, 1, 0}, {"a", 2, 1, 1, 1}}
	if len(got) != len(want) {
		t.Fatalf("dump %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dump[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if c.DetailEnabled() {
		t.Fatal("detail still on")
	}
}

func TestResetStats(t *testing.T) {
	c := newTestCache(t, nil)
	set(t, c, "a", "1")
	c.Get([]byte("a"))
	c.Get([]byte("b"))
	c.ResetStats()
	s := c.Stats()
	if s.CmdGet != 0 || s.GetHits != 0 || s.GetMisses != 0 || s.CmdSet != 0 || s.TotalItems != 0 {
		t.Fatalf("after reset: %+v", s)
	}
	if s.CurrItems != 1 || s.Bytes == 0 {
		t.Fatalf("reset touched state: curr_items %d bytes %d", s.CurrItems, s.Bytes)
	}
}
