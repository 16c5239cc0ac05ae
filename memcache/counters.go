package memcache

// globalCounters are memcached's thread stats and global stats that are
// not kept per class.
type globalCounters struct {
	cmdGet, cmdFlush, cmdTouch           uint64
	getMisses, getExpired, getFlushed    uint64
	deleteMisses, incrMisses, decrMisses uint64
	casMisses, touchMisses               uint64
	storeTooLarge, storeNoMemory         uint64
	totalItems                           uint64
	currItems                            uint64 // not reset by ResetStats
	bytes                                uint64 // not reset by ResetStats
	crawlerStarts, juggleCycles          uint64
}

// slabCounters are memcached's per-class slab_stats.
type slabCounters struct {
	getHits, setCmds, deleteHits, incrHits, decrHits uint64
	casHits, casBadval, touchHits                    uint64
}

// itemCounters are memcached's per-class itemstats.
type itemCounters struct {
	evicted, evictedNonzero, evictedTime, outOfMemory, tailRepairs uint64
	reclaimed, expiredUnfetched, evictedUnfetched, evictedActive   uint64
	crawlerReclaimed, crawlerItemsChecked, lrutailReflocked        uint64
	movesToCold, movesToWarm, movesWithinLRU, directReclaims       uint64
	hitsTo                                                         [4]uint64 // hot, warm, cold, temp
}

// ResetStats is "stats reset": it zeroes the counters but not the state
// (curr_items, bytes, pages).
func (c *Cache) ResetStats() {
	curr, bytes := c.g.currItems, c.g.bytes
	c.g = globalCounters{currItems: curr, bytes: bytes}
	for i := range c.classes {
		c.classes[i].ss = slabCounters{}
		c.classes[i].is = itemCounters{}
	}
}
