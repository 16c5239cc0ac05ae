package memcache

import (
	"errors"
	"sync/atomic"
)

// Item pins (memcached's item refcount). A View dies at the next call into
// the Cache; a Pin keeps one item's bytes for a reply that is sent over
// many calls, so a large value goes to the client straight from its chunk
// instead of through a copy.
//
// Invariants, enforced where named:
//
//   - A pinned chunk's bytes never change and the chunk is never reused
//     while a pin is held. Everything that writes item bytes after the
//     item was linked either only touches the header (LRU links, time,
//     exptime, CAS, flags bits), or refuses a pinned item: arithmetic
//     writes the new number in place only when the item is not pinned
//     (arith.go), and nothing else rewrites a value in place.
//   - Delete, replace, flush, expiry and the crawler unlink a pinned item
//     as usual (it leaves the hash table and the LRU, the counters drop)
//     but its chunk is freed only at the last Unpin (unlink, cache.go): it
//     stays "used" in its class, flagged itemPinned and nothing else.
//   - Eviction skips pinned items, as memcached's lru_pull_tail skips an
//     item whose refcount it cannot take (lru.go, lrutail_reflocked).
//   - The page mover treats a pinned chunk as busy, like a reservation,
//     and gives a page that stays busy for moverBusyPassesMax passes
//     back to its class (slabs_rebalance.go): a client that never reads
//     its reply holds one page's move, never the mover.
//   - SaveItems writes only linked items, whose bytes a pin never lets
//     change, so a warm restart never saves a torn item; an unlinked
//     pinned chunk is not saved at all.
//   - Every Pin is released exactly once. PinsHeld counts the pins held,
//     so tests can check that every path (a reply sent, a connection
//     closed part way, an error) released its pins. Each Pin carries its
//     own hold number (pins.holds), so a second Unpin, even of a copy of
//     the Pin, is ErrNotPinned and never drops another holder's count.
//   - Cache.Pin pins only the item its View showed: the View records the
//     Cache's allocation count (allocGen, bumped by slabsAllocFrom, the
//     one place a chunk is handed out for a new item), and a chunk can
//     hold another item only after an allocation. So a stale View, whose
//     chunk may have been freed and reused since, is refused, even with
//     an equal key or with NoCAS (no CAS to compare).
//
// The refcounts live in a map keyed by reference, holding only pinned
// items; the itemPinned bit makes "is it pinned" a flag test on the hot
// paths (eviction, unlink).

// Pin is a hold on one item's memory, from Cache.Pin. Value aliases the
// item's value and stays valid and unchanged until Unpin, whatever other
// calls into the Cache do meanwhile (as long as the Cache itself is
// reachable: its pages are unmapped when it is collected).
//
// A Pin is released by Unpin on that Pin or on any copy of it, once:
// the other copies' Unpin then fails with ErrNotPinned.
type Pin struct {
	Value []byte
	ref   uint32
	hold  uint64 // this hold's number, a key of pins.holds
}

// Held reports whether p holds an item (is not the zero Pin, nor
// released).
func (p *Pin) Held() bool { return p.ref != 0 }

// ErrNotPinned marks an Unpin of a Pin that holds nothing: released
// before, or never taken.
var ErrNotPinned = errors.New("memcache: item is not pinned")

// pins is the Cache's refcount table.
type pins struct {
	count map[uint32]uint32 // refcount of each pinned item
	held  atomic.Int64      // sum of the refcounts: PinsHeld
	// holds maps each Pin not yet released (by its hold number) to its
	// item; the internal pins of arith and append are not Pins.
	holds    map[uint64]uint32
	lastHold uint64
}

// Pin takes a hold on the item v shows. v must come from a lookup that
// found an item (Get, GetAndTouch, MetaGet). ok is false for a View that
// shows no item, or that is stale: a View dies at the next call into the
// Cache, and Pin refuses one taken before any allocation since (after
// which its chunk may hold another item) or whose item was unlinked.
func (c *Cache) Pin(v View) (p Pin, ok bool) {
	if v.ref == 0 || v.gen != c.allocGen {
		return Pin{}, false
	}
	it := c.chunk(v.ref)
	if iflags(it)&itemLinked == 0 {
		return Pin{}, false
	}
	c.pin(v.ref, it)
	if c.pins.holds == nil {
		c.pins.holds = make(map[uint64]uint32)
	}
	c.pins.lastHold++
	c.pins.holds[c.pins.lastHold] = v.ref
	return Pin{Value: itValue(it), ref: v.ref, hold: c.pins.lastHold}, true
}

// Unpin releases p, and frees the item if it was unlinked while pinned
// and this was its last pin. p is zeroed; a second Unpin of p, or an
// Unpin of a copy of p made before, is ErrNotPinned.
func (c *Cache) Unpin(p *Pin) error {
	if p == nil || p.ref == 0 {
		return ErrNotPinned
	}
	ref, ok := c.pins.holds[p.hold]
	if !ok || ref != p.ref {
		return ErrNotPinned
	}
	delete(c.pins.holds, p.hold)
	*p = Pin{}
	c.unpin(ref, c.chunk(ref))
	return nil
}

// PinsHeld is the number of pins held (every Pin taken and not yet
// released). Safe to call from any goroutine.
func (c *Cache) PinsHeld() int64 { return c.pins.held.Load() }

// pin adds one hold on item ref.
func (c *Cache) pin(ref uint32, it []byte) {
	if c.pins.count == nil {
		c.pins.count = make(map[uint32]uint32)
	}
	c.pins.count[ref]++
	c.pins.held.Add(1)
	setIFlags(it, iflags(it)|itemPinned)
}

// unpin drops one hold on item ref; the last one clears itemPinned and
// frees an item that was unlinked meanwhile.
func (c *Cache) unpin(ref uint32, it []byte) {
	n := c.pins.count[ref] - 1
	c.pins.held.Add(-1)
	if n > 0 {
		c.pins.count[ref] = n
		return
	}
	delete(c.pins.count, ref)
	f := iflags(it) &^ itemPinned
	setIFlags(it, f)
	if f&itemLinked == 0 {
		c.slabsFree(ref, it)
	}
}

// pinned reports whether it is pinned.
func pinned(it []byte) bool { return iflags(it)&itemPinned != 0 }
