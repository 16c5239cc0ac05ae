package memcache

// Segmented LRU (memcached's items.c with lru_segmented): every class has
// HOT, WARM and COLD lists. New items enter HOT. The maintainer (juggle,
// run from Tick and a little on every allocation) moves items off the tails:
// HOT items flow to COLD once HOT holds more than HotLRUPct of the class's
// bytes or they are older than HotMaxFactor times COLD's tail age (an
// active HOT item flows to WARM instead); WARM behaves the same with its
// own limits, and its active items are bumped within WARM. An item fetched
// while in COLD is marked active and moved to WARM. Evictions take COLD's
// tail. Expired and flushed items found at any tail are reclaimed first.
// With TempLRU, items with a short TTL go to a fourth list, TEMP, which is
// never evicted from and only reclaimed as its items expire; in flat mode
// (FlatLRU) new items go straight to COLD.

// itemUpdateInterval is memcached's ITEM_UPDATE_INTERVAL: touches and
// updates refresh the access time at most this often.
const itemUpdateInterval = 60

// pullTail tries limit from memcached's lru_pull_tail.
const pullTailTries = 5

// linkQ puts ref at the head of list lru of its class.
func (c *Cache) linkQ(ref uint32, it []byte, lru int) {
	p := &c.classes[clsid(it)]
	it[offLRU] = uint8(lru)
	setLPrev(it, 0)
	setLNext(it, p.heads[lru])
	if h := p.heads[lru]; h != 0 {
		setLPrev(c.chunk(h), ref)
	}
	p.heads[lru] = ref
	if p.tails[lru] == 0 {
		p.tails[lru] = ref
	}
	p.counts[lru]++
	p.lruBytes[lru] += uint64(c.itemNTotal(it))
}

// unlinkQ removes ref from whichever list it is on.
func (c *Cache) unlinkQ(ref uint32, it []byte) {
	lru := lruID(it)
	if lru >= numLRU {
		return
	}
	p := &c.classes[clsid(it)]
	prev, next := lprev(it), lnext(it)
	if prev != 0 {
		setLNext(c.chunk(prev), next)
	} else {
		p.heads[lru] = next
	}
	if next != 0 {
		setLPrev(c.chunk(next), prev)
	} else {
		p.tails[lru] = prev
	}
	p.counts[lru]--
	p.lruBytes[lru] -= uint64(c.itemNTotal(it))
	it[offLRU] = lruNone
}

// moveQ moves ref to the head of list lru.
func (c *Cache) moveQ(ref uint32, it []byte, lru int) {
	c.unlinkQ(ref, it)
	c.linkQ(ref, it, lru)
}

// bump records a fetch like memcached's do_item_bump: the first fetch sets
// fetched, the second sets active; an active item in COLD goes to WARM.
func (c *Cache) bump(ref uint32, it []byte) {
	f := iflags(it)
	if c.cfg.FlatLRU {
		// memcached's flat mode: a fetch marks the item fetched and,
		// at most once per itemUpdateInterval, moves it to the head of
		// its list (do_item_update).
		setIFlags(it, f|itemFetched)
		if itTime(it) < c.now-itemUpdateInterval || c.now < itemUpdateInterval {
			setTime(it, c.now)
			c.moveQ(ref, it, lruID(it))
		}
		return
	}
	if f&itemActive != 0 {
		return
	}
	if f&itemFetched == 0 {
		setIFlags(it, f|itemFetched)
		return
	}
	setIFlags(it, f|itemActive)
	setTime(it, c.now)
	if lruID(it) == lruCold {
		c.moveQ(ref, it, lruWarm)
	}
}

// touchTime is memcached's do_item_update: refresh the access time, at
// most once per itemUpdateInterval.
func (c *Cache) touchTime(it []byte) {
	if itTime(it) < c.now-itemUpdateInterval || c.now < itemUpdateInterval {
		setTime(it, c.now)
	}
}

// isFlushed is memcached's item_is_flushed (flush_all's oldest_live, plus
// oldest_cas for flushes within the current second).
func (c *Cache) isFlushed(it []byte) bool {
	ol := c.oldestLive
	if ol == 0 || ol > c.now {
		return false
	}
	if itTime(it) <= ol {
		return true
	}
	cas := itCAS(it)
	return c.oldestCAS != 0 && cas != 0 && cas < c.oldestCAS
}

// pullTail works on the tail of one list like memcached's lru_pull_tail and
// returns how many items it reclaimed, evicted or moved.
func (c *Cache) pullTail(id, lru int, totalBytes uint64, maxAge uint32, evict bool) int {
	p := &c.classes[id]
	removed := 0
	search := p.tails[lru]
	for tries := pullTailTries; tries > 0 && search != 0; tries-- {
		it := c.chunk(search)
		next := lprev(it)
		if pinned(it) {
			// A Pin holds this item (memcached: refcount > 1): it can
			// be neither freed nor moved, so it is left where it is.
			p.is.lrutailReflocked++
			search = next
			continue
		}
		if exp := exptime(it); (exp != 0 && exp < c.now) || c.isFlushed(it) {
			p.is.reclaimed++
			if iflags(it)&itemFetched == 0 {
				p.is.expiredUnfetched++
			}
			c.unlink(search, it)
			removed++
			search = next
			continue
		}
		switch lru {
		case lruTemp:
			// TEMP items are only ever reclaimed once expired.
			return removed
		case lruHot, lruWarm:
			var limit uint64
			if lru == lruHot {
				limit = totalBytes * uint64(c.cfg.HotLRUPct) / 100
			} else {
				limit = totalBytes * uint64(c.cfg.WarmLRUPct) / 100
			}
			f := iflags(it)
			if f&itemActive != 0 {
				setIFlags(it, f&^itemActive)
				removed++
				if lru == lruWarm {
					p.is.movesWithinLRU++
					c.moveQ(search, it, lruWarm)
					search = next
					continue
				}
				p.is.movesToWarm++
				c.moveQ(search, it, lruWarm)
				return removed
			}
			if p.lruBytes[lru] > limit || c.now-itTime(it) > maxAge {
				p.is.movesToCold++
				c.moveQ(search, it, lruCold)
				removed++
			}
			return removed
		default: // COLD
			f := iflags(it)
			switch {
			case evict:
				if c.cfg.NoEvict {
					p.is.outOfMemory++
					return removed
				}
				p.is.evicted++
				p.is.evictedTime = uint64(c.now - itTime(it))
				if exptime(it) != 0 {
					p.is.evictedNonzero++
				}
				if f&itemFetched == 0 {
					p.is.evictedUnfetched++
				}
				if f&itemActive != 0 {
					p.is.evictedActive++
				}
				if c.onEvict != nil {
					c.onEvict(c.evictionOf(it))
				}
				c.unlink(search, it)
				removed++
				if c.cfg.SlabAutomove == 2 && c.cfg.SlabReassign {
					// memcached's aggressive automove: every eviction asks
					// for a page from any other class.
					if c.slabsReassign(-1, id) == ReassignRunning {
						c.mover.next = id
					}
				}
			case f&itemActive != 0:
				setIFlags(it, f&^itemActive)
				p.is.movesToWarm++
				c.moveQ(search, it, lruWarm)
				removed++
			}
			return removed
		}
	}
	return removed
}

// juggle is one pass of memcached's lru_maintainer_juggle for class id,
// repeated up to rounds times while it still finds work. It returns the
// rounds used.
func (c *Cache) juggle(id, rounds int) int {
	p := &c.classes[id]
	var coldAge uint32
	if t := p.tails[lruCold]; t != 0 {
		coldAge = c.now - itTime(c.chunk(t))
	}
	hotAge := uint32(float64(coldAge) * c.cfg.HotMaxFactor)
	warmAge := uint32(float64(coldAge) * c.cfg.WarmMaxFactor)
	total := p.lruBytes[lruHot] + p.lruBytes[lruWarm] + p.lruBytes[lruCold]
	if p.tails[lruTemp] != 0 {
		c.pullTail(id, lruTemp, 0, 0, false) // reclaims only
	}
	for i := 0; i < rounds; i++ {
		n := c.pullTail(id, lruHot, total, hotAge, false)
		if n == 0 {
			n = c.pullTail(id, lruWarm, total, warmAge, false)
		}
		if !c.cfg.FlatLRU {
			n += c.pullTail(id, lruCold, total, 0, false)
		}
		if n == 0 {
			return i + 1
		}
	}
	return rounds
}

// allocTries bounds how often an allocation evicts or shuffles before it
// gives up (memcached's do_item_alloc_pull loop).
const allocTries = 10

// itemAlloc returns a chunk for an item of ntotal bytes in class id,
// reclaiming or evicting from the class's COLD tail as needed. 0 means out
// of memory (with NoEvict, or when nothing can be evicted).
func (c *Cache) itemAlloc(id int) uint32 {
	c.juggle(id, 1)
	for i := 0; i < allocTries; i++ {
		if ref := c.slabsAlloc(id); ref != 0 {
			if i > 0 {
				c.classes[id].is.directReclaims += uint64(i)
			}
			return ref
		}
		if c.pullTail(id, lruCold, 0, 0, true) > 0 {
			continue
		}
		// COLD had nothing to give: push HOT (or else WARM) down into
		// COLD, as the background maintainer would have.
		if c.pullTail(id, lruHot, 0, 0, false) == 0 {
			c.pullTail(id, lruWarm, 0, 0, false)
		}
	}
	return 0
}
