package memcache

import "strconv"

func classStat(id int, name string) string {
	return strconv.Itoa(id) + ":" + name
}

// ItemStats is "stats items": per class holding items, memcached 1.6's
// item_stats lines ("items:<id>:number" ...) in its order.
func (c *Cache) ItemStats() []Stat {
	var out []Stat
	for id := 1; id < len(c.classes); id++ {
		p := &c.classes[id]
		n := p.counts[lruHot] + p.counts[lruWarm] + p.counts[lruCold] + p.counts[lruTemp]
		if n == 0 {
			continue
		}
		age := func(lru int) uint64 {
			if t := p.tails[lru]; t != 0 {
				return uint64(c.now - itTime(c.chunk(t)))
			}
			return 0
		}
		is := &p.is
		pre := "items:" + strconv.Itoa(id) + ":"
		add := func(name string, v uint64) { out = append(out, Stat{pre + name, u(v)}) }
		add("number", uint64(n))
		add("number_hot", uint64(p.counts[lruHot]))
		add("number_warm", uint64(p.counts[lruWarm]))
		add("number_cold", uint64(p.counts[lruCold]))
		if c.cfg.TempLRU {
			add("number_temp", uint64(p.counts[lruTemp]))
		}
		add("age_hot", age(lruHot))
		add("age_warm", age(lruWarm))
		add("age", age(lruCold))
		add("mem_requested", p.lruBytes[lruHot]+p.lruBytes[lruWarm]+p.lruBytes[lruCold]+p.lruBytes[lruTemp])
		add("evicted", is.evicted)
		add("evicted_nonzero", is.evictedNonzero)
		add("evicted_time", is.evictedTime)
		add("outofmemory", is.outOfMemory)
		add("tailrepairs", is.tailRepairs)
		add("reclaimed", is.reclaimed)
		add("expired_unfetched", is.expiredUnfetched)
		add("evicted_unfetched", is.evictedUnfetched)
		add("evicted_active", is.evictedActive)
		add("crawler_reclaimed", is.crawlerReclaimed)
		add("crawler_items_checked", is.crawlerItemsChecked)
		add("lrutail_reflocked", is.lrutailReflocked)
		add("moves_to_cold", is.movesToCold)
		add("moves_to_warm", is.movesToWarm)
		add("moves_within_lru", is.movesWithinLRU)
		add("direct_reclaims", is.directReclaims)
		add("hits_to_hot", is.hitsTo[0])
		add("hits_to_warm", is.hitsTo[1])
		add("hits_to_cold", is.hitsTo[2])
		add("hits_to_temp", is.hitsTo[3])
	}
	return out
}

// SlabStats is "stats slabs": per class with pages, memcached 1.6's
// slabs_stats lines, then active_slabs and total_malloced.
func (c *Cache) SlabStats() []Stat {
	var out []Stat
	active := 0
	for id := 1; id < len(c.classes); id++ {
		p := &c.classes[id]
		if p.totalPages == 0 {
			continue
		}
		active++
		uncarved := uint64(0)
		if p.curPage != 0 {
			uncarved = uint64(p.perSlab - p.curNext)
		}
		total := uint64(p.totalPages) * uint64(p.perSlab)
		add := func(name string, v uint64) { out = append(out, Stat{classStat(id, name), u(v)}) }
		add("chunk_size", uint64(p.size))
		add("chunks_per_page", uint64(p.perSlab))
		add("total_pages", uint64(p.totalPages))
		add("total_chunks", total)
		add("used_chunks", uint64(p.used))
		add("free_chunks", uint64(p.freeCount)+uncarved)
		// Pages are carved lazily here, but memcached 1.6 splits a whole
		// page at once and always reports 0; the uncarved rest is counted
		// in free_chunks.
		add("free_chunks_end", 0)
		add("get_hits", p.ss.getHits)
		add("cmd_set", p.ss.setCmds)
		add("delete_hits", p.ss.deleteHits)
		add("incr_hits", p.ss.incrHits)
		add("decr_hits", p.ss.decrHits)
		add("cas_hits", p.ss.casHits)
		add("cas_badval", p.ss.casBadval)
		add("touch_hits", p.ss.touchHits)
	}
	out = append(out, Stat{"active_slabs", strconv.Itoa(active)}, Stat{"total_malloced", strconv.FormatInt(c.malloced, 10)})
	return out
}

// SizeStats is "stats sizes": a histogram of item sizes in 32-byte
// buckets (only non-empty ones), or "sizes_status disabled" unless the
// cache was built with TrackSizes.
func (c *Cache) SizeStats() []Stat {
	if c.sizes == nil {
		return []Stat{{"sizes_status", "disabled"}}
	}
	var out []Stat
	for i, n := range c.sizes {
		if n != 0 {
			out = append(out, Stat{strconv.Itoa(i * 32), u(n)})
		}
	}
	return out
}

func sizeBucket(ntotal int) int { return (ntotal + 31) / 32 }

func (c *Cache) sizesAdd(ntotal int) {
	if c.sizes != nil {
		c.sizes[min(sizeBucket(ntotal), len(c.sizes)-1)]++
	}
}

func (c *Cache) sizesRemove(ntotal int) {
	if c.sizes != nil {
		// Items linked before "stats sizes_enable" were never counted.
		if b := &c.sizes[min(sizeBucket(ntotal), len(c.sizes)-1)]; *b > 0 {
			*b--
		}
	}
}

// CacheDumpItem is one "ITEM <Key> [<Bytes> b; <Exptime> s]" line of
// "stats cachedump"; Exptime is a unix time, 0 for never.
type CacheDumpItem struct {
	Key     string
	Bytes   int
	Exptime int64
}

// cacheDumpMaxBytes is memcached's cap on a cachedump reply.
const cacheDumpMaxBytes = 2 << 20

// CacheDump is "stats cachedump <class> <limit>": like memcached 1.6 it
// walks the class's COLD LRU from the head, at most limit items (0 for
// all) and about 2 MB of output. An unknown class gives nothing.
func (c *Cache) CacheDump(class, limit int) []CacheDumpItem {
	if class < 1 || class >= len(c.classes) {
		return nil
	}
	var out []CacheDumpItem
	size := 0
	for ref := c.classes[class].heads[lruCold]; ref != 0; {
		if limit > 0 && len(out) >= limit {
			break
		}
		it := c.chunk(ref)
		var exp int64
		if e := exptime(it); e != 0 {
			exp = int64(e) + c.processStarted
		}
		d := CacheDumpItem{Key: string(itKey(it)), Bytes: int(nbytes(it)), Exptime: exp}
		size += len(d.Key) + 40
		if size > cacheDumpMaxBytes-6 {
			break
		}
		out = append(out, d)
		ref = lnext(it)
	}
	return out
}
