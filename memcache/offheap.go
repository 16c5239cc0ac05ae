package memcache

import "runtime"

// arena is where slab pages come from: anonymous memory mapped outside the
// Go heap (on Linux), as memcached's slabs sit outside any collector. In
// the Go heap, pages would count in the collector's live heap, so its
// target (GOGC=100: twice the live heap) would let transient garbage grow
// to the size of all stored data before a collection: a full cache could
// double its resident memory while serving large multi-gets. Outside it,
// the collector paces on the connections' buffers and garbage alone.
// bench/RESULTS.md (multiget case of bench/rss-hostile.sh) has the
// numbers.
//
// The pages hold no Go pointers, so the collector never needed to see
// them. They are unmapped when the Cache becomes unreachable; a View or a
// Reservation must not outlive its Cache (they are valid only until the
// next call into it anyway).
type arena struct {
	maps [][]byte
}

// newArena returns c's arena, freed when c is collected.
func newArena(c *Cache) *arena {
	a := &arena{}
	runtime.AddCleanup(c, func(a *arena) { a.free() }, a)
	return a
}

// alloc returns n zeroed bytes.
func (a *arena) alloc(n int) []byte {
	if a == nil {
		return make([]byte, n)
	}
	b, err := mapAnon(n)
	if err != nil {
		// Out of address space or a mapping limit: the heap may still
		// have room.
		return make([]byte, n)
	}
	a.maps = append(a.maps, b)
	return b
}

func (a *arena) free() {
	for _, b := range a.maps {
		unmapAnon(b)
	}
	a.maps = nil
}
