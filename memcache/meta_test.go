package memcache

import "testing"

func TestMetaGetVivify(t *testing.T) {
	c := newTestCache(t, nil)
	v, ok := c.MetaGet([]byte("foo"), MetaGetOptions{Vivify: true, VivifyTTL: 30})
	if !ok || !v.Won || v.TokenSent || len(v.Value) != 0 || v.TTL != 30 {
		t.Fatalf("first vivify: %+v found %v", v, ok)
	}
	v, ok = c.MetaGet([]byte("foo"), MetaGetOptions{Vivify: true, VivifyTTL: 30})
	if !ok || v.Won || !v.TokenSent {
		t.Fatalf("second: want Z without W, got %+v", v)
	}
	// Without N a miss stays a miss.
	if _, ok := c.MetaGet([]byte("bar"), MetaGetOptions{}); ok {
		t.Fatal("miss without N found something")
	}
	// Storing the real value clears the token.
	set(t, c, "foo", "real")
	v, _ = c.MetaGet([]byte("foo"), MetaGetOptions{})
	if v.Won || v.TokenSent || v.Stale || string(v.Value) != "real" {
		t.Fatalf("after set: %+v", v)
	}
	checkInvariants(t, c)
}

func TestMetaGetRecache(t *testing.T) {
	c := newTestCache(t, nil)
	mustStore(t, c, ModeSet, "k", "v", 0, 100, StoreOptions{})
	if v, _ := c.MetaGet([]byte("k"), MetaGetOptions{Recache: true, RecacheTTL: 50}); v.Won {
		t.Fatal("won with 100 s left and R50")
	}
	advance(c, 60)
	v, _ := c.MetaGet([]byte("k"), MetaGetOptions{Recache: true, RecacheTTL: 50})
	if !v.Won || v.TokenSent {
		t.Fatalf("40 s left, R50: %+v", v)
	}
	v, _ = c.MetaGet([]byte("k"), MetaGetOptions{Recache: true, RecacheTTL: 50})
	if v.Won || !v.TokenSent {
		t.Fatalf("second R: %+v", v)
	}
	// No TTL means never a recache win.
	set(t, c, "forever", "v")
	if v, _ := c.MetaGet([]byte("forever"), MetaGetOptions{Recache: true, RecacheTTL: 1 << 20}); v.Won {
		t.Fatal("won recache on an item without TTL")
	}
}

func TestMetaGetFlags(t *testing.T) {
	c := newTestCache(t, nil)
	mustStore(t, c, ModeSet, "k", "v", 7, 0, StoreOptions{})
	advance(c, 5)
	v, _ := c.MetaGet([]byte("k"), MetaGetOptions{NoBump: true})
	if v.HitBefore || v.LastAccess != 5 || v.TTL != -1 || v.Flags != 7 {
		t.Fatalf("u: %+v", v)
	}
	v, _ = c.MetaGet([]byte("k"), MetaGetOptions{})
	if v.HitBefore {
		t.Fatal("u marked the item fetched")
	}
	v, _ = c.MetaGet([]byte("k"), MetaGetOptions{Touch: true, TTL: 300})
	if !v.HitBefore || v.TTL != 300 {
		t.Fatalf("h after a hit / T: %+v", v)
	}
	s := c.Stats()
	if s.CmdGet != 2 || s.GetHits != 2 || s.CmdTouch != 1 || s.TouchHits != 1 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestMetaDeleteInvalidate(t *testing.T) {
	c := newTestCache(t, nil)
	cas := set(t, c, "k", "v")
	if res := c.Delete([]byte("k"), DeleteOptions{CAS: cas + 1}); res != Exists {
		t.Fatalf("md C mismatch: %v", res)
	}
	if res := c.Delete([]byte("k"), DeleteOptions{Invalidate: true, Touch: true, TTL: 30}); res != Deleted {
		t.Fatalf("md I: %v", res)
	}
	v, ok := c.MetaGet([]byte("k"), MetaGetOptions{})
	if !ok || !v.Stale || !v.Won || v.TokenSent || v.CAS == cas || v.TTL != 30 || string(v.Value) != "v" {
		t.Fatalf("after md I, first mg: %+v", v)
	}
	v, _ = c.MetaGet([]byte("k"), MetaGetOptions{})
	if !v.Stale || v.Won || !v.TokenSent {
		t.Fatalf("second mg on stale: %+v", v)
	}
	// Invalidating again re-opens the token.
	c.Delete([]byte("k"), DeleteOptions{Invalidate: true})
	if v, _ := c.MetaGet([]byte("k"), MetaGetOptions{}); !v.Won {
		t.Fatalf("re-invalidated: %+v", v)
	}
	if res := c.Delete([]byte("k"), DeleteOptions{}); res != Deleted {
		t.Fatalf("md: %v", res)
	}
	if res := c.Delete([]byte("k"), DeleteOptions{}); res != NotFound {
		t.Fatalf("md on missing: %v", res)
	}
	s := c.Stats()
	if s.DeleteHits != 1 || s.DeleteMisses != 1 {
		t.Fatalf("delete stats hits %d misses %d", s.DeleteHits, s.DeleteMisses)
	}
}

func TestMetaSetInvalidate(t *testing.T) {
	c := newTestCache(t, nil)
	old := set(t, c, "k", "v1")
	newer := set(t, c, "k", "v2")
	mustStore(t, c, ModeSet, "k", "v2", 0, 100, StoreOptions{CAS: newer}) // keep a TTL to check it is kept
	cur, _ := c.Get([]byte("k"))
	// A stale CAS without I is refused.
	if res, _ := mustStore(t, c, ModeSet, "k", "late", 0, 0, StoreOptions{CAS: old}); res != Exists {
		t.Fatalf("stale C without I: %v", res)
	}
	// With I the late write lands, marked stale, TTL kept.
	res, _ := mustStore(t, c, ModeSet, "k", "late", 0, 0, StoreOptions{CAS: old, Invalidate: true})
	if res != Stored {
		t.Fatalf("stale C with I: %v", res)
	}
	v, _ := c.MetaGet([]byte("k"), MetaGetOptions{})
	if string(v.Value) != "late" || !v.Stale || !v.Won || v.TTL != cur.TTL {
		t.Fatalf("after ms I: %+v (ttl before %d)", v, cur.TTL)
	}
	// A CAS higher than the item's is still a mismatch, I or not.
	if res, _ := mustStore(t, c, ModeSet, "k", "x", 0, 0, StoreOptions{CAS: v.CAS + 10, Invalidate: true}); res != Exists {
		t.Fatalf("higher C with I: %v", res)
	}
}

func TestDebug(t *testing.T) {
	c := newTestCache(t, nil)
	mustStore(t, c, ModeSet, "k", "10", 5, 100, StoreOptions{})
	advance(c, 3)
	d, ok := c.Debug([]byte("k"))
	if !ok || d.Exp != 97 || d.LastAccess != 3 || d.Fetched || d.Class != 1 || d.Size != 48+2+4+4+8 || d.CAS == 0 {
		t.Fatalf("debug: %+v %v", d, ok)
	}
	d2, _ := c.Debug([]byte("k"))
	if d2.Fetched || c.Stats().CmdGet != 0 {
		t.Fatal("Debug had side effects")
	}
	c.Get([]byte("k"))
	if d, _ := c.Debug([]byte("k")); !d.Fetched {
		t.Fatal("fetch not reported")
	}
	if _, ok := c.Debug([]byte("none")); ok {
		t.Fatal("debug found a missing key")
	}
}

// TestMetaGetCounters follows a memcached 1.6.18 run:
// "mg viv N30 v", "mg viv N30 v", "mg x v t" gave cmd_get 3, get_hits 2,
// get_misses 1.
func TestMetaGetCounters(t *testing.T) {
	c := newTestCache(t, nil)
	c.MetaGet([]byte("viv"), MetaGetOptions{Vivify: true, VivifyTTL: 30})
	c.MetaGet([]byte("viv"), MetaGetOptions{Vivify: true, VivifyTTL: 30})
	c.MetaGet([]byte("x"), MetaGetOptions{})
	if s := c.Stats(); s.CmdGet != 3 || s.GetHits != 2 || s.GetMisses != 1 || s.CurrItems != 1 {
		t.Fatalf("cmd_get %d get_hits %d get_misses %d curr_items %d", s.CmdGet, s.GetHits, s.GetMisses, s.CurrItems)
	}
}
