package memcache

import (
	"bytes"
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
//     closed part way, an error) released its pins.
//
// The refcounts live in a map keyed by reference, holding only pinned
// items; the itemPinned bit makes "is it pinned" a flag test on the hot
// paths (eviction, unlink).

// Pin is a hold on one item's memory, from Cache.Pin. Value aliases the
// item's value and stays valid and unchanged until Unpin, whatever other
// calls into the Cache do meanwhile (as long as the Cache itself is
// reachable: its pages are unmapped when it is collected).
type Pin struct {
	Value []byte
	ref   uint32
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
}

// Pin takes a hold on the item v shows. v must come from the latest call
// into the Cache (a View dies at the next call), and from a lookup that
// found an item (Get, GetAndTouch, MetaGet). ok is false for a View that
// shows no item, or no longer the item it showed.
func (c *Cache) Pin(v View) (p Pin, ok bool) {
	if v.ref == 0 {
		return Pin{}, false
	}
	it := c.chunk(v.ref)
	// A stale View (misuse) may name a chunk reused since: refuse one
	// whose item is not the View's.
	if iflags(it)&itemLinked == 0 || itCAS(it) != v.CAS || !bytes.Equal(itKey(it), v.Key) {
		return Pin{}, false
	}
	c.pin(v.ref, it)
	return Pin{Value: itValue(it), ref: v.ref}, true
}

// Unpin releases p, and frees the item if it was unlinked while pinned
// and this was its last pin. p is zeroed, so a second Unpin is an error
// rather than a double release.
func (c *Cache) Unpin(p *Pin) error {
	if p == nil || p.ref == 0 {
		return ErrNotPinned
	}
	ref := p.ref
	if c.pins.count[ref] == 0 {
		return ErrNotPinned
	}
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
