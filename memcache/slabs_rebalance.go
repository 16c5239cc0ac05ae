package memcache

// The slab page mover (memcached's slab_rebalance_* in slabs.c). A page
// moves from a source class to a destination class, or to or from the
// global page pool (class 0), in three steps:
//
//   - start: the first Tick after the request picks a page of the source
//     class and takes it out of circulation: its free chunks leave the free
//     list, the class stops carving it, and slabsFree no longer returns its
//     chunks to the free list.
//   - move: Tick by Tick, a bounded number of chunks at a time, every live
//     item in the page is rescued into a free chunk of the same class
//     elsewhere (keeping its key, value, flags, TTL, CAS and LRU position),
//     or evicted when the class has no free chunk; expired and flushed items
//     are simply unlinked. A chunk held by an outstanding Reservation (the
//     caller still writes into it) or by a Pin (a reply still reads it) is
//     busy, so the pass is repeated, one pass a Tick, until it is free. A
//     page still busy after moverBusyPassesMax passes goes back to its
//     class and the move ends undone: a client that never sends the rest
//     of a value or never reads its reply stops one move, not the mover;
//     the class's next move picks another page (slabClass.moveAfter).
//   - finish: the empty page is cleared and split into the destination's
//     free list, or returned to the global pool, where newSlab takes it
//     before allocating.
//
// Unlike memcached's, this mover is not a thread: the engine is
// single-threaded, so the mover is incremental work that Tick drives, and
// items move only between calls, never under a caller that holds a View;
// a pinned item never moves (see pin.go).

// Results of SlabsReassign, with the text memcached 1.6.18 answers.
type ReassignResult uint8

const (
	ReassignOK       ReassignResult = iota // "OK"
	ReassignRunning                        // "BUSY currently processing reassign request"
	ReassignBadClass                       // "BADCLASS invalid src or dst class id"
	ReassignNoSpare                        // "NOSPARE source class has no spare pages"
	ReassignSame                           // "SAME src and dst class are identical"
	ReassignDisabled                       // "CLIENT_ERROR slab reassignment disabled"
)

// String is memcached's reply line for r.
func (r ReassignResult) String() string {
	switch r {
	case ReassignOK:
		return "OK"
	case ReassignRunning:
		return "BUSY currently processing reassign request"
	case ReassignBadClass:
		return "BADCLASS invalid src or dst class id"
	case ReassignNoSpare:
		return "NOSPARE source class has no spare pages"
	case ReassignSame:
		return "SAME src and dst class are identical"
	case ReassignDisabled:
		return "CLIENT_ERROR slab reassignment disabled"
	}
	return "ERROR"
}

// moverChunksPerTick bounds the chunks the mover examines per Tick, so a
// Tick stays short; it is more than the smallest class's chunks per 1 MB
// page, so a page normally moves within one Tick, and pages of larger
// classes several per Tick.
const moverChunksPerTick = 1 << 14

// rebalance is the mover's state (memcached's slab_rebal) and its counters.
type rebalance struct {
	running   bool   // a move was requested and has not finished
	src, dst  int    // classes; 0 is the global page pool
	page      uint32 // page being emptied, 0 until the move starts
	carveEnd  uint32 // chunks from here on were never handed out
	pos       uint32 // next chunk to examine
	busy      uint32 // busy chunks met in the current pass
	busyLoops uint64 // passes repeated because of busy chunks
	pickNext  int    // slabs_reassign_pick_any's cursor
	next      int    // automove 2: a class that evicted while a page moved

	rescues, evictionsNomem, inlineReclaim, busyItems, busyDeletes, moved uint64

	// busyAborts: moves given up after moverBusyPassesMax busy passes.
	busyAborts uint64
}

// moverBusyPassesMax bounds the passes over a page that still holds busy
// chunks. The cache agent ticks four times a second, so a page waits about
// ten seconds for its reservations and pins before the move is given up;
// memcached's mover similarly stops waiting for busy items after its
// SLAB_MOVE_MAX_LOOPS tries.
const moverBusyPassesMax = 40

// SlabsReassign is "slabs reassign SRC DST": schedule moving one page from
// class src (-1: any class with a spare page; 0: the global page pool) to
// class dst (0: the global page pool). The page moves over the next Ticks.
func (c *Cache) SlabsReassign(src, dst int) ReassignResult {
	if !c.cfg.SlabReassign {
		return ReassignDisabled
	}
	return c.slabsReassign(src, dst)
}

// slabsReassign is memcached's do_slabs_reassign.
func (c *Cache) slabsReassign(src, dst int) ReassignResult {
	if c.mover.running {
		return ReassignRunning
	}
	if src == dst {
		return ReassignSame
	}
	if src == -1 {
		src = c.pickAnySource(dst)
	}
	largest := len(c.classes) - 1
	if src < 0 || src > largest || dst < 0 || dst > largest {
		return ReassignBadClass
	}
	if c.pagesOf(src) < 2 {
		return ReassignNoSpare
	}
	c.mover.running, c.mover.src, c.mover.dst = true, src, dst
	return ReassignOK
}

// pagesOf is the page count of class id, or of the global pool for 0.
func (c *Cache) pagesOf(id int) int {
	if id == 0 {
		return len(c.pagePool)
	}
	return int(c.classes[id].totalPages)
}

// pickAnySource is memcached's slabs_reassign_pick_any: the next class
// after the last one picked that has more than one page, or -1.
func (c *Cache) pickAnySource(dst int) int {
	largest := len(c.classes) - 1
	for tries := largest; tries > 0; tries-- {
		c.mover.pickNext++
		if c.mover.pickNext > largest {
			c.mover.pickNext = 1
		}
		if id := c.mover.pickNext; id != dst && c.classes[id].totalPages > 1 {
			return id
		}
	}
	return -1
}

// rebalanceStep advances a requested move by at most budget chunks. With
// automove 2 a class that evicted while a page was moving asked for a page
// in vain (BUSY); memcached's mover thread would serve its next eviction
// at once, so here the next move starts as soon as this one finishes,
// within the same budget.
func (c *Cache) rebalanceStep(budget int) {
	r := &c.mover
	for budget > 0 && r.running {
		budget = c.rebalanceWork(budget)
		if !r.running && r.next != 0 {
			dst := r.next
			r.next = 0
			if c.cfg.SlabAutomove == 2 && c.cfg.SlabReassign {
				c.slabsReassign(-1, dst)
			}
		}
	}
}

// rebalanceWork advances the current move and returns the budget left; 0
// when the move has to wait for the next Tick.
func (c *Cache) rebalanceWork(budget int) int {
	r := &c.mover
	if r.src == 0 {
		// A pool page holds nothing: it moves at once. Classes may have
		// drawn the pool empty since the request; then there is nothing
		// to move.
		n := len(c.pagePool)
		if n == 0 {
			r.running = false
			return budget
		}
		page := c.pagePool[n-1]
		c.pagePool = c.pagePool[:n-1]
		c.rebalanceFinish(page)
		return budget
	}
	if r.page == 0 {
		c.rebalanceStart()
	}
	p := &c.classes[r.src]
	for ; budget > 0 && r.pos < p.perSlab; budget-- {
		if r.pos < r.carveEnd {
			c.moveChunk(r.page<<c.chunkBits | r.pos)
		}
		r.pos++
	}
	if r.pos < p.perSlab {
		return 0
	}
	if r.busy > 0 {
		// memcached's mover also starts the page over until nothing in it
		// is busy; the next pass waits for the next Tick.
		r.busyItems += uint64(r.busy)
		r.busy = 0
		r.pos = 0
		r.busyLoops++
		if r.busyLoops >= moverBusyPassesMax {
			c.rebalanceAbort()
			return budget
		}
		return 0
	}
	page := r.page
	r.page = 0
	p.totalPages--
	c.rebalanceFinish(page)
	return budget
}

// rebalanceStart picks the source class's page to empty (one it is not
// carving, if it has one: memcached takes its oldest) and takes the page's
// free chunks out of the free list. The scan starts after the page whose
// move was last given up (moveAfter) and wraps, so a page that stays busy
// is tried last, not first, and the class's moves go on around it.
func (c *Cache) rebalanceStart() {
	r := &c.mover
	p := &c.classes[r.src]
	page := uint32(0)
	n := uint32(len(c.pageChunk)) - 1 // pages are 1..n
	start := uint32(1)
	if p.moveAfter != 0 && p.moveAfter < n {
		start = p.moveAfter + 1
	}
	for i := uint32(0); i < n; i++ {
		idx := (start-1+i)%n + 1
		if c.pageChunk[idx] == p.size && !c.inPool(idx) {
			page = idx
			if page != p.curPage {
				break
			}
		}
	}
	r.page, r.pos, r.busy, r.busyLoops = page, 0, 0, 0
	r.carveEnd = p.perSlab
	if page == p.curPage {
		r.carveEnd = p.curNext
		p.curPage, p.curNext = 0, 0
	}
	// Rebuild the free list without the page's chunks, keeping the order.
	var head, tail uint32
	kept := uint32(0)
	for ref := p.freeHead; ref != 0; {
		it := c.chunk(ref)
		next := hnext(it)
		if ref>>c.chunkBits != page {
			if tail == 0 {
				head = ref
			} else {
				setHNext(c.chunk(tail), ref)
			}
			tail = ref
			kept++
		} else {
			r.inlineReclaim++
		}
		ref = next
	}
	if tail != 0 {
		setHNext(c.chunk(tail), 0)
	}
	p.freeHead, p.freeCount = head, kept
}

// inPool reports whether page idx sits in the global page pool.
func (c *Cache) inPool(idx uint32) bool {
	return c.pageChunk[idx] == 0
}

// moveChunk empties one chunk of the page being moved: a live item is
// rescued into another chunk of its class or, without one, evicted; an
// expired or flushed item is unlinked; a reserved chunk is busy.
func (c *Cache) moveChunk(ref uint32) {
	r := &c.mover
	it := c.chunk(ref)
	f := iflags(it)
	switch {
	case f&(itemReserved|itemPinned) != 0:
		r.busy++
	case f&itemLinked != 0:
		if exp := exptime(it); (exp != 0 && exp <= c.now) || c.isFlushed(it) {
			c.unlink(ref, it)
			return
		}
		if nref := c.slabsAllocFrom(clsid(it), false); nref != 0 {
			c.relocate(ref, it, nref, c.chunk(nref))
			r.rescues++
			return
		}
		r.evictionsNomem++
		c.unlink(ref, it)
	}
}

// relocate moves a linked item from chunk old to the free chunk nw of the
// same class: same hash chain position, same LRU position, same counters.
func (c *Cache) relocate(oldRef uint32, old []byte, newRef uint32, nw []byte) {
	n := HeaderSize + nkey(old) + int(nbytes(old))
	copy(nw[:n], old[:n])
	b := c.hash.bucket(itHash(old))
	if *b == oldRef {
		*b = newRef
	} else {
		for prev := *b; prev != 0; {
			pit := c.chunk(prev)
			if hnext(pit) == oldRef {
				setHNext(pit, newRef)
				break
			}
			prev = hnext(pit)
		}
	}
	p := &c.classes[clsid(old)]
	lru := lruID(old)
	if prev := lprev(old); prev != 0 {
		setLNext(c.chunk(prev), newRef)
	} else {
		p.heads[lru] = newRef
	}
	if next := lnext(old); next != 0 {
		setLPrev(c.chunk(next), newRef)
	} else {
		p.tails[lru] = newRef
	}
	// The old chunk is simply dropped: slabsFree would not list it anyway.
	setIFlags(old, 0)
	old[offLRU] = lruNone
	p.used--
}

// rebalanceAbort gives the page being emptied back to its class, whose
// pages it never left: its free chunks (no flag set: never carved, freed,
// or emptied by this move) go back on the free list, and the items still
// in it (reserved, pinned, or not yet reached) stay where they are. The
// move ends without moving anything.
func (c *Cache) rebalanceAbort() {
	r := &c.mover
	p := &c.classes[r.src]
	page := r.page
	r.page = 0
	for i := int(p.perSlab) - 1; i >= 0; i-- {
		ref := page<<c.chunkBits | uint32(i)
		it := c.chunk(ref)
		if iflags(it) != 0 {
			continue
		}
		it[offClsid] = uint8(r.src)
		it[offLRU] = lruNone
		setHNext(it, p.freeHead)
		p.freeHead = ref
		p.freeCount++
	}
	p.moveAfter = page
	r.running = false
	r.busyAborts++
}

// rebalanceFinish clears an empty page and gives it to the destination
// class's free list, or to the global page pool.
func (c *Cache) rebalanceFinish(page uint32) {
	r := &c.mover
	clear(c.pageMem[page])
	if r.dst == 0 {
		c.pageChunk[page] = 0
		c.pagePool = append(c.pagePool, page)
	} else {
		p := &c.classes[r.dst]
		c.pageChunk[page] = p.size
		p.totalPages++
		// memcached splits the page into the free list at once; the
		// lowest chunk ends up first.
		for i := int(p.perSlab) - 1; i >= 0; i-- {
			ref := page<<c.chunkBits | uint32(i)
			it := c.chunk(ref)
			it[offClsid] = uint8(r.dst)
			it[offLRU] = lruNone
			setHNext(it, p.freeHead)
			p.freeHead = ref
			p.freeCount++
		}
	}
	r.running = false
	r.moved++
}
