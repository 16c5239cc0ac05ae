package memcache

// Run-time tuning: memcached's "lru tune|mode|temp_ttl", "stats
// sizes_enable|sizes_disable" and "cache_memlimit". Each takes effect at
// once for what the engine does next; nothing already stored moves.

// SetLRUTuning is "lru tune HOT WARM HOT_FACTOR WARM_FACTOR", checked as
// memcached checks it (the caller words the refusal).
func (c *Cache) SetLRUTuning(hotPct, warmPct int, hotMax, warmMax float64) error {
	switch {
	case hotPct+warmPct > 80:
		return wrapConfig("hot and warm pcts must not exceed 80")
	case hotMax <= 0 || warmMax <= 0:
		return wrapConfig("hot/warm age factors must be greater than 0")
	}
	c.cfg.HotLRUPct, c.cfg.WarmLRUPct = hotPct, warmPct
	c.cfg.HotMaxFactor, c.cfg.WarmMaxFactor = hotMax, warmMax
	return nil
}

// SetFlatLRU is "lru mode flat" (true) or "lru mode segmented" (false).
func (c *Cache) SetFlatLRU(flat bool) { c.cfg.FlatLRU = flat }

// SetTempTTL is "lru temp_ttl N": a negative ttl turns the TEMP list off
// (items already on it stay until they expire), else items stored with a
// TTL of at most ttl seconds go to it.
func (c *Cache) SetTempTTL(ttl int64) {
	if ttl < 0 {
		c.cfg.TempLRU = false
		return
	}
	c.cfg.TempLRU, c.cfg.TemporaryTTL = true, uint32(min(ttl, 1<<32-1))
}

// newItemLRU is the list a newly linked item enters (memcached's
// do_item_alloc): TEMP for a short TTL when TempLRU is on, COLD in flat
// mode, else HOT.
func (c *Cache) newItemLRU(it []byte) int {
	if exp := exptime(it); c.cfg.TempLRU && exp != 0 && exp-c.now <= c.cfg.TemporaryTTL {
		return lruTemp
	}
	if c.cfg.FlatLRU {
		return lruCold
	}
	return lruHot
}

// SetSizesTracking is "stats sizes_enable" / "stats sizes_disable". As in
// memcached, enabling starts an empty histogram: items already stored are
// not counted.
func (c *Cache) SetSizesTracking(on bool) {
	c.cfg.TrackSizes = on
	switch {
	case !on:
		c.sizes = nil
	case c.sizes == nil:
		c.sizes = make([]uint64, c.cfg.ItemSizeMax/32+2)
	}
}

// ErrMemLimit is returned by SetMemLimit for a limit the engine cannot
// take; memcached answers MEMLIMIT_ADJUST_FAILED.
var ErrMemLimit = wrapConfig("cannot adjust the memory limit")

// SetMemLimit is "cache_memlimit": the item memory limit (-m) in bytes,
// raised or lowered at run time as memcached's slabs_adjust_mem_limit
// does. Raising lets classes take more pages. Lowering hands out no more
// pages while the engine holds more than the limit, so stores evict from
// the pages it has instead of growing; pages are not given back (memcached
// 1.6.18 frees them only through its slab rebalancer's global pool). With
// -L the memory was reserved at start and, as in memcached, the limit
// cannot change; nor can it grow past what 32-bit item references address.
func (c *Cache) SetMemLimit(bytes int64) error {
	if c.large != nil || bytes <= 0 {
		return ErrMemLimit
	}
	if bytes/int64(c.pageSize)+int64(len(c.classes)) > int64(c.maxPages) {
		return ErrMemLimit
	}
	c.cfg.MaxBytes = bytes
	return nil
}
