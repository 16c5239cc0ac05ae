package memcache

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// pinKey gets key and pins it, failing the test on a miss.
func pinKey(t *testing.T, c *Cache, key string) Pin {
	t.Helper()
	v, ok := c.Get([]byte(key))
	if !ok {
		t.Fatalf("%s missing", key)
	}
	p, ok := c.Pin(v)
	if !ok {
		t.Fatalf("pin %s refused", key)
	}
	return p
}

// unpinAll releases ps and checks that no pin is left.
func unpinAll(t *testing.T, c *Cache, ps ...*Pin) {
	t.Helper()
	for _, p := range ps {
		if err := c.Unpin(p); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.PinsHeld(); n != 0 {
		t.Fatalf("%d pins held", n)
	}
}

// churn stores n values of size bytes under fresh keys, enough to reuse
// any chunk of their class that is free.
func churn(t *testing.T, c *Cache, prefix string, n, size int) {
	t.Helper()
	v := strings.Repeat("z", size)
	for i := 0; i < n; i++ {
		mustStore(t, c, ModeSet, prefix+strconv.Itoa(i), v, 0, 0, StoreOptions{})
	}
}

// TestPinOutlivesDelete: a deleted pinned item leaves the hash table at
// once, but its chunk is not reused (stores of its size fill the cache
// many times over meanwhile) until the last Unpin frees it.
func TestPinOutlivesDelete(t *testing.T) {
	c := smallCache(t, false)
	val := strings.Repeat("p", 20000)
	set(t, c, "big", val)
	p := pinKey(t, c, "big")
	p2 := pinKey(t, c, "big") // a second reader of the same item
	id := classOf(t, c, "big")
	used := c.classes[id].used
	if r := c.Delete([]byte("big"), DeleteOptions{}); r != Deleted {
		t.Fatal(r)
	}
	if _, ok := c.Get([]byte("big")); ok {
		t.Fatal("deleted item still found")
	}
	if c.classes[id].used != used {
		t.Fatal("a pinned deleted item's chunk was freed")
	}
	churn(t, c, "c", 1000, len(val))
	checkInvariants(t, c)
	if string(p.Value) != val || string(p2.Value) != val {
		t.Fatal("pinned value changed after delete and reuse of its class")
	}
	if c.PinsHeld() != 2 {
		t.Fatalf("pins held %d, want 2", c.PinsHeld())
	}
	if err := c.Unpin(&p); err != nil {
		t.Fatal(err)
	}
	if c.PinsHeld() != 1 {
		t.Fatal("first unpin released both")
	}
	before := c.classes[id].used
	unpinAll(t, c, &p2)
	if c.classes[id].used != before-1 {
		t.Fatalf("last unpin did not free the chunk: used %d -> %d", before, c.classes[id].used)
	}
	checkInvariants(t, c)
}

// TestPinOutlivesReplaceAndFlush: set over a pinned key and flush_all
// unlink it; the old value stays readable through the pin.
func TestPinOutlivesReplaceAndFlush(t *testing.T) {
	c := newTestCache(t, nil)
	old := strings.Repeat("o", 30000)
	set(t, c, "k", old)
	p := pinKey(t, c, "k")
	set(t, c, "k", strings.Repeat("n", 30000))
	if got, _ := getString(c, "k"); got[0] != 'n' {
		t.Fatal("replace did not take effect")
	}
	q := pinKey(t, c, "k")
	c.FlushAll(0)
	advance(c, 1)
	if _, ok := c.Get([]byte("k")); ok {
		t.Fatal("flushed item found")
	}
	if string(p.Value) != old || q.Value[0] != 'n' || len(q.Value) != 30000 {
		t.Fatal("pinned values changed")
	}
	checkInvariants(t, c)
	unpinAll(t, c, &p, &q)
	checkInvariants(t, c)
}

// TestPinnedItemNotEvicted: eviction passes over a pinned item at the
// COLD tail (lrutail_reflocked) and evicts the ones behind it.
func TestPinnedItemNotEvicted(t *testing.T) {
	c := smallCache(t, false)
	set(t, c, "oldest", kb)
	p := pinKey(t, c, "oldest")
	churn(t, c, "e", 20000, len(kb))
	if c.Stats().Evictions == 0 {
		t.Fatal("no evictions: the test did not fill the cache")
	}
	if got, ok := getString(c, "oldest"); !ok || got != kb {
		t.Fatal("pinned item was evicted")
	}
	if c.Stats().LrutailReflocked == 0 {
		t.Fatal("lrutail_reflocked not counted")
	}
	checkInvariants(t, c)
	unpinAll(t, c, &p)
	checkInvariants(t, c)
}

// TestPinnedValueNotChangedByIncr: incr writes in place only when no pin
// holds the value.
func TestPinnedValueNotChangedByIncr(t *testing.T) {
	c := newTestCache(t, nil)
	val := "41" + strings.Repeat(" ", 20000)
	set(t, c, "n", val)
	p := pinKey(t, c, "n")
	if av, res := c.Arith([]byte("n"), ArithOptions{Delta: 1}); res != Hit || av.Value != 42 {
		t.Fatal(res, av.Value)
	}
	if string(p.Value) != val {
		t.Fatal("incr changed a pinned value in place")
	}
	if got, _ := getString(c, "n"); got != "42" {
		t.Fatalf("after incr: %q", got)
	}
	checkInvariants(t, c)
	unpinAll(t, c, &p)
	checkInvariants(t, c)
}

// TestUnpinMisuse: the zero Pin, a second Unpin and a View of no item are
// refused, and never release another holder's pin.
func TestUnpinMisuse(t *testing.T) {
	c := newTestCache(t, nil)
	if _, ok := c.Pin(View{}); ok {
		t.Fatal("pinned the zero View")
	}
	var zero Pin
	if err := c.Unpin(&zero); !errors.Is(err, ErrNotPinned) {
		t.Fatal(err)
	}
	set(t, c, "old", "v")
	stale, _ := c.Get([]byte("old"))
	c.Delete([]byte("old"), DeleteOptions{})
	set(t, c, "new", "w") // takes the freed chunk
	if _, ok := c.Pin(stale); ok {
		t.Fatal("pinned through a stale View")
	}
	set(t, c, "k", "v")
	p := pinKey(t, c, "k")
	q := p // a copy must not release the pin twice
	unpinAll(t, c, &p)
	if err := c.Unpin(&p); !errors.Is(err, ErrNotPinned) {
		t.Fatal(err)
	}
	if err := c.Unpin(&q); !errors.Is(err, ErrNotPinned) {
		t.Fatal(err)
	}
	if c.PinsHeld() != 0 {
		t.Fatal("pins held went negative or stayed")
	}
}

// TestPinStaleViewReusedChunk: a View whose chunk now holds another item
// with a key of the same length, or the same key, is refused, with CAS
// and without (-C, where every CAS reads 0); and a copied Pin's second
// Unpin does not release another holder's pin.
func TestPinStaleViewReusedChunk(t *testing.T) {
	for _, noCAS := range []bool{false, true} {
		c := newTestCache(t, func(cfg *Config) { cfg.NoCAS = noCAS })
		set(t, c, "aaa", "v1")
		stale, _ := c.Get([]byte("aaa"))
		c.Delete([]byte("aaa"), DeleteOptions{})
		set(t, c, "bbb", "v2") // same class, takes the freed chunk
		if v, _ := c.Get([]byte("bbb")); v.ref != stale.ref {
			t.Fatalf("noCAS %v: setup: chunk not reused", noCAS)
		}
		if _, ok := c.Pin(stale); ok {
			t.Fatalf("noCAS %v: pinned a reused chunk, equal-length key", noCAS)
		}
		c.Delete([]byte("bbb"), DeleteOptions{})
		set(t, c, "aaa", "v3") // the same key again, in the same chunk
		if _, ok := c.Pin(stale); ok {
			t.Fatalf("noCAS %v: pinned a reused chunk, same key", noCAS)
		}
		if v, _ := c.Get([]byte("aaa")); v.ref != stale.ref {
			t.Fatalf("noCAS %v: setup: chunk not reused", noCAS)
		}

		p := pinKey(t, c, "aaa")
		q := p // a copy of p
		r := pinKey(t, c, "aaa")
		unpinAll(t, c, &p, &r)
		p = pinKey(t, c, "aaa")
		if err := c.Unpin(&q); !errors.Is(err, ErrNotPinned) {
			t.Fatalf("noCAS %v: a released copy's Unpin: %v", noCAS, err)
		}
		if c.PinsHeld() != 1 {
			t.Fatalf("noCAS %v: %d pins held, want 1", noCAS, c.PinsHeld())
		}
		unpinAll(t, c, &p)
		checkInvariants(t, c)
	}
}

// pinnedMoveSetup fills one class past one page and pins an item in its
// first page, which is the page the mover picks.
func pinnedMoveSetup(t *testing.T) (*Cache, Pin, string, int) {
	c := newTestCache(t, func(cfg *Config) { cfg.SlabAutomove = 0 })
	val := strings.Repeat("r", 100)
	for i := 0; i < 30000; i++ {
		set(t, c, "k"+strconv.Itoa(i), val)
	}
	p := pinKey(t, c, "k3")
	for i := 100; i < 30000; i += 2 {
		c.Delete([]byte("k"+strconv.Itoa(i)), DeleteOptions{})
	}
	src := classOf(t, c, "k0")
	if r := c.SlabsReassign(src, 0); r != ReassignOK {
		t.Fatal(r)
	}
	return c, p, val, src
}

// TestPageMoveWaitsForPin: the mover does not move or free a pinned
// chunk; the move completes once the pin is released.
func TestPageMoveWaitsForPin(t *testing.T) {
	c, p, val, _ := pinnedMoveSetup(t)
	for i := 0; i < 3; i++ {
		c.Tick(c.Now())
	}
	if !c.mover.running || c.Stats().SlabReassignBusyItems == 0 {
		t.Fatalf("mover running %v, busy %d", c.mover.running, c.Stats().SlabReassignBusyItems)
	}
	checkInvariants(t, c)
	// Deleted while the mover waits on it: still not freed or moved.
	c.Delete([]byte("k3"), DeleteOptions{})
	c.Tick(c.Now())
	if !c.mover.running || string(p.Value) != val {
		t.Fatal("mover passed a pinned, deleted chunk")
	}
	unpinAll(t, c, &p)
	finishMove(t, c)
	checkInvariants(t, c)
	if c.Stats().SlabsMoved != 1 {
		t.Fatal("page did not move after the unpin")
	}
}

// TestPageMoveGivesUpOnPin: a pin that is never released stops that one
// move after moverBusyPassesMax passes, the page stays with its class,
// the pinned value is intact, and the mover takes the next request.
func TestPageMoveGivesUpOnPin(t *testing.T) {
	c, p, val, src := pinnedMoveSetup(t)
	pages := c.classes[src].totalPages
	for i := 0; i <= moverBusyPassesMax+1 && c.mover.running; i++ {
		c.Tick(c.Now())
	}
	if c.mover.running {
		t.Fatal("mover still waiting on a pin after its bound")
	}
	if c.mover.busyAborts != 1 || c.Stats().SlabsMoved != 0 || c.classes[src].totalPages != pages {
		t.Fatalf("aborts %d, moved %d, pages %d -> %d", c.mover.busyAborts, c.Stats().SlabsMoved, pages, c.classes[src].totalPages)
	}
	if string(p.Value) != val {
		t.Fatal("pinned value changed")
	}
	checkInvariants(t, c)
	// The page's free chunks are back in circulation.
	churn(t, c, "again", 20000, len(val))
	checkInvariants(t, c)
	unpinAll(t, c, &p)
	if r := c.SlabsReassign(src, 0); r != ReassignOK {
		t.Fatal(r)
	}
	finishMove(t, c)
	checkInvariants(t, c)
}

// TestPageMoveAfterPinTriesAnotherPage: once a move gives up on a page a
// pin holds, the class's next move picks another page and completes while
// the pin is still held; the one after that still avoids the pinned page.
func TestPageMoveAfterPinTriesAnotherPage(t *testing.T) {
	c, p, val, src := pinnedMoveSetup(t)
	pinnedPage := p.ref >> c.chunkBits
	c.Tick(c.Now())
	if c.mover.page != pinnedPage {
		t.Fatalf("first move took page %d, want the pinned page %d", c.mover.page, pinnedPage)
	}
	for i := 0; i <= moverBusyPassesMax+1 && c.mover.running; i++ {
		c.Tick(c.Now())
	}
	if c.mover.running || c.mover.busyAborts != 1 {
		t.Fatalf("running %v, aborts %d", c.mover.running, c.mover.busyAborts)
	}
	pages := c.classes[src].totalPages
	for n := uint64(1); n <= 2 && c.classes[src].totalPages > 1; n++ {
		if r := c.SlabsReassign(src, 0); r != ReassignOK {
			t.Fatal(r)
		}
		c.Tick(c.Now())
		if c.mover.running && c.mover.page == pinnedPage {
			t.Fatalf("move %d took the pinned page again", n+1)
		}
		finishMove(t, c)
		if got := c.Stats().SlabsMoved; got != n {
			t.Fatalf("move %d: moved %d pages, aborts %d", n+1, got, c.mover.busyAborts)
		}
		if c.pageChunk[pinnedPage] != c.classes[src].size {
			t.Fatal("the pinned page left its class")
		}
		checkInvariants(t, c)
	}
	if c.Stats().SlabsMoved == 0 || c.classes[src].totalPages >= pages {
		t.Fatalf("pages %d -> %d", pages, c.classes[src].totalPages)
	}
	if c.mover.busyAborts != 1 || string(p.Value) != val {
		t.Fatal("a later move aborted, or the pinned value changed")
	}
	unpinAll(t, c, &p)
	checkInvariants(t, c)
}

// TestSaveItemsWithPins: a warm restart's stream holds pinned linked
// items whole and leaves out items unlinked under a pin.
func TestSaveItemsWithPins(t *testing.T) {
	c := newTestCache(t, nil)
	keep := strings.Repeat("k", 40000)
	set(t, c, "keep", keep)
	set(t, c, "gone", strings.Repeat("g", 40000))
	p, q := pinKey(t, c, "keep"), pinKey(t, c, "gone")
	c.Delete([]byte("gone"), DeleteOptions{})
	var buf bytes.Buffer
	n, err := c.SaveItems(&buf)
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	d := newTestCache(t, nil)
	if _, err := d.RestoreItems(&buf); err != nil {
		t.Fatal(err)
	}
	if got, ok := getString(d, "keep"); !ok || got != keep {
		t.Fatal("pinned item not restored whole")
	}
	if _, ok := d.Get([]byte("gone")); ok {
		t.Fatal("an item unlinked under a pin was saved")
	}
	unpinAll(t, c, &p, &q)
}
