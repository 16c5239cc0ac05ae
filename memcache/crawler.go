package memcache

// crawl is a bounded stand-in for memcached's LRU crawler: it visits up to
// budget hash buckets (resuming where the last call stopped) and reclaims
// expired or flushed items, so memory held by items nobody asks for again
// comes back without waiting for eviction. It pauses while the table
// expands, because items are then split across two tables.
func (c *Cache) crawl(budget int) {
	a := &c.hash
	if a.expanding() || a.count == 0 {
		return
	}
	n := uint32(len(a.primary))
	if c.crawlBucket >= n {
		c.crawlBucket = 0
	}
	if c.crawlBucket == 0 {
		c.g.crawlerStarts++
	}
	for ; budget > 0; budget-- {
		ref := a.primary[c.crawlBucket]
		for ref != 0 {
			it := c.chunk(ref)
			next := hnext(it)
			p := &c.classes[clsid(it)]
			p.is.crawlerItemsChecked++
			if exp := exptime(it); (exp != 0 && exp <= c.now) || c.isFlushed(it) {
				p.is.crawlerReclaimed++
				if iflags(it)&itemFetched == 0 {
					p.is.expiredUnfetched++
				}
				c.unlink(ref, it)
			}
			ref = next
		}
		c.crawlBucket++
		if c.crawlBucket == n {
			c.crawlBucket = 0
			return
		}
	}
}
