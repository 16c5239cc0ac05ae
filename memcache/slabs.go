package memcache

import "math/bits"

// slabClass is one size class: its chunk geometry, free chunks, LRU lists
// and per-class counters (memcached's slabclass_t plus the per-class parts
// of items.c and the threads' slab_stats).
type slabClass struct {
	size       uint32 // chunk size in bytes
	perSlab    uint32 // chunks per page
	totalPages uint32
	freeHead   uint32 // free list, linked through the hnext field
	freeCount  uint32
	curPage    uint32 // page being carved lazily, 0 if none
	curNext    uint32 // next never-used chunk index in curPage
	used       uint32 // chunks holding linked or reserved items
	// moveAfter is the page whose move was last given up as busy (0:
	// none); the mover's next pick for this class starts after it, so one
	// page held by a pin or a reservation does not stop every move of
	// the class (slabs_rebalance.go).
	moveAfter uint32

	heads, tails [numLRU]uint32
	counts       [numLRU]uint32
	lruBytes     [numLRU]uint64 // memcached's sizes_bytes, in ntotal units

	is itemCounters
	ss slabCounters
}

// slabsInit builds the class table like memcached's slabs_init: the first
// class holds a header plus ChunkSizeMin bytes, each next class is
// GrowthFactor times larger (8-byte aligned), and the last class is the
// largest item size.
func (c *Cache) slabsInit() {
	maxChunk := uint32(c.cfg.ItemSizeMax)
	c.classes = make([]slabClass, 1, MaxSlabClasses+1) // class 0 is unused
	size := float64(HeaderSize + c.cfg.ChunkSizeMin)
	for len(c.classes) < MaxSlabClasses {
		if size >= float64(maxChunk)/c.cfg.GrowthFactor {
			break
		}
		s := uint32(size)
		if s%8 != 0 {
			s += 8 - s%8
		}
		if prev := c.classes[len(c.classes)-1].size; s <= prev {
			s = prev + 8 // a factor close to 1 must still make progress
		}
		c.classes = append(c.classes, slabClass{size: s, perSlab: uint32(c.pageSize) / s})
		size = float64(s) * c.cfg.GrowthFactor
	}
	c.classes = append(c.classes, slabClass{size: maxChunk, perSlab: uint32(c.pageSize) / maxChunk})

	// Enough chunk-index bits for the smallest class's chunks per page; the
	// rest of the 32-bit reference numbers pages.
	c.chunkBits = uint(bits.Len32(c.classes[1].perSlab))
	c.chunkMask = 1<<c.chunkBits - 1
	c.maxPages = 1<<(32-c.chunkBits) - 1
}

// clsidFor returns the smallest class whose chunks hold ntotal bytes, or 0
// if the item is too large (memcached's slabs_clsid).
func (c *Cache) clsidFor(ntotal int) int {
	if ntotal <= 0 || ntotal > c.cfg.ItemSizeMax {
		return 0
	}
	lo, hi := 1, len(c.classes)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if int(c.classes[mid].size) >= ntotal {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// slabsAlloc takes a chunk of class id: from the free list, then from the
// uncarved rest of the newest page, then from a new page if the memory
// limit allows. It returns 0 when the class needs an eviction first.
func (c *Cache) slabsAlloc(id int) uint32 { return c.slabsAllocFrom(id, true) }

// slabsAllocFrom is slabsAlloc; without newPage it never takes a page
// (memcached's SLABS_ALLOC_NO_NEWPAGE, which the page mover uses).
func (c *Cache) slabsAllocFrom(id int, newPage bool) uint32 {
	p := &c.classes[id]
	var ref uint32
	switch {
	case p.freeHead != 0:
		ref = p.freeHead
		p.freeHead = hnext(c.chunk(ref))
		p.freeCount--
	case p.curPage != 0 && p.curNext < p.perSlab:
		ref = p.curPage<<c.chunkBits | p.curNext
		p.curNext++
	default:
		if !newPage || !c.newSlab(id) {
			return 0
		}
		ref = p.curPage<<c.chunkBits | 0
		p.curNext = 1
	}
	p.used++
	c.allocGen++
	it := c.chunk(ref)
	clear(it[:HeaderSize])
	it[offClsid] = uint8(id)
	it[offLRU] = lruNone
	return ref
}

// newSlab gives class id a fresh page: one the page mover returned to the
// global page pool if there is one, else a new one. As in memcached, -m
// bounds the pages handed out, except that a class with no page at all may
// always take its first one (so every size stays storable); with pages
// larger than 1 MB (-I above 1m) that exception would cost too much and is
// not made.
func (c *Cache) newSlab(id int) bool {
	if n := len(c.pagePool); n > 0 {
		idx := c.pagePool[n-1]
		c.pagePool = c.pagePool[:n-1]
		c.assignPage(id, idx)
		return true
	}
	p := &c.classes[id]
	over := c.malloced+int64(c.pageSize) > c.cfg.MaxBytes
	if over && (p.totalPages > 0 || c.pageSize > DefaultPageSize) {
		return false
	}
	if len(c.pageMem) > c.maxPages {
		return false
	}
	c.assignPage(id, c.allocPage())
	return true
}

// allocPage allocates a page and returns its index; its class is set by
// assignPage.
func (c *Cache) allocPage() uint32 {
	idx := uint32(len(c.pageMem))
	var mem []byte
	if c.large != nil {
		mem = c.large.take(c.pageSize)
	}
	if mem == nil {
		mem = c.mem.alloc(c.pageSize)
	}
	c.pageMem = append(c.pageMem, mem)
	c.pageChunk = append(c.pageChunk, 0)
	c.malloced += int64(c.pageSize)
	return idx
}

// assignPage gives page idx to class id as its page being carved.
func (c *Cache) assignPage(id int, idx uint32) {
	p := &c.classes[id]
	c.pageChunk[idx] = p.size
	p.totalPages++
	p.curPage = idx
	p.curNext = 0
}

// preallocate is memcached's -L: all of -m as one huge-page chunk, and a
// first page for every class cut from it up front (slabs_preallocate), so
// that every size is storable from the start. Later pages come from the
// chunk as classes need them.
func (c *Cache) preallocate() error {
	if need := int64(len(c.classes)-1) * int64(c.pageSize); need > c.cfg.MaxBytes {
		return wrapConfig("with -L, max memory must be at least %d megabytes (a page for each of the %d slab classes)",
			(need+1<<20-1)>>20, len(c.classes)-1)
	}
	c.large = newLargeChunk(c.cfg.MaxBytes / int64(c.pageSize) * int64(c.pageSize))
	c.large.mem = c.mem
	for id := 1; id < len(c.classes); id++ {
		c.assignPage(id, c.allocPage())
	}
	return nil
}

// slabsFree returns a chunk to its class's free list, except a chunk of the
// page the mover is emptying: that one stays out of circulation, so the
// page holds nothing once the mover has passed over it.
func (c *Cache) slabsFree(ref uint32, it []byte) {
	p := &c.classes[clsid(it)]
	it[offIFlags] = 0
	it[offLRU] = lruNone
	if c.mover.page != 0 && ref>>c.chunkBits == c.mover.page {
		p.used--
		return
	}
	setHNext(it, p.freeHead)
	p.freeHead = ref
	p.freeCount++
	p.used--
}
