package memcache

import (
	"strconv"
)

// Stat is one "STAT <Name> <Value>" line.
type Stat struct {
	Name, Value string
}

// Stats are the engine's part of memcached's general "stats", field names
// following memcached's stat names.
type Stats struct {
	CmdGet, CmdSet, CmdFlush, CmdTouch         uint64
	GetHits, GetMisses, GetExpired, GetFlushed uint64
	DeleteMisses, DeleteHits                   uint64
	IncrMisses, IncrHits, DecrMisses, DecrHits uint64
	CasMisses, CasHits, CasBadval              uint64
	TouchHits, TouchMisses                     uint64
	StoreTooLarge, StoreNoMemory               uint64
	LimitMaxbytes                              uint64
	HashPowerLevel                             uint64
	HashBytes                                  uint64
	HashIsExpanding                            bool
	SlabReassignRescues, SlabReassignEvictionsNomem,
	SlabReassignChunkRescues, SlabReassignInlineReclaim,
	SlabReassignBusyItems, SlabReassignBusyDeletes uint64
	SlabReassignRunning                      bool
	SlabsMoved                               uint64
	LRUCrawlerRunning                        bool
	LRUCrawlerStarts, LRUMaintainerJuggles   uint64
	Bytes, CurrItems, TotalItems             uint64
	SlabGlobalPagePool                       uint64
	ExpiredUnfetched, EvictedUnfetched       uint64
	EvictedActive, Evictions, Reclaimed      uint64
	CrawlerReclaimed, CrawlerItemsChecked    uint64
	LrutailReflocked                         uint64
	MovesToCold, MovesToWarm, MovesWithinLRU uint64
	DirectReclaims, LRUBumpsDropped          uint64
	// TotalMalloced is "stats slabs"' total_malloced: bytes of slab pages.
	TotalMalloced uint64
	// HashExpansions counts completed or started table doublings.
	HashExpansions uint64
}

// Stats sums the counters into memcached's general stats.
func (c *Cache) Stats() Stats {
	s := Stats{
		CmdGet: c.g.cmdGet, CmdFlush: c.g.cmdFlush, CmdTouch: c.g.cmdTouch,
		GetMisses: c.g.getMisses, GetExpired: c.g.getExpired, GetFlushed: c.g.getFlushed,
		DeleteMisses: c.g.deleteMisses, IncrMisses: c.g.incrMisses, DecrMisses: c.g.decrMisses,
		CasMisses: c.g.casMisses, TouchMisses: c.g.touchMisses,
		StoreTooLarge: c.g.storeTooLarge, StoreNoMemory: c.g.storeNoMemory,
		LimitMaxbytes:        uint64(c.cfg.MaxBytes),
		HashPowerLevel:       uint64(c.hash.power),
		HashBytes:            uint64(len(c.hash.primary)) * 4,
		HashIsExpanding:      c.hash.expanding(),
		LRUCrawlerStarts:     c.g.crawlerStarts,
		LRUMaintainerJuggles: c.g.juggleCycles,
		Bytes:                c.g.bytes, CurrItems: c.g.currItems, TotalItems: c.g.totalItems,
		SlabReassignRescues:        c.mover.rescues,
		SlabReassignEvictionsNomem: c.mover.evictionsNomem,
		SlabReassignInlineReclaim:  c.mover.inlineReclaim,
		SlabReassignBusyItems:      c.mover.busyItems,
		SlabReassignBusyDeletes:    c.mover.busyDeletes,
		SlabReassignRunning:        c.mover.running,
		SlabsMoved:                 c.mover.moved,
		SlabGlobalPagePool:         uint64(len(c.pagePool)),
		TotalMalloced:              uint64(c.malloced),
		HashExpansions:             c.expansions,
	}
	for i := 1; i < len(c.classes); i++ {
		ss, is := &c.classes[i].ss, &c.classes[i].is
		s.GetHits += ss.getHits
		s.CmdSet += ss.setCmds
		s.DeleteHits += ss.deleteHits
		s.IncrHits += ss.incrHits
		s.DecrHits += ss.decrHits
		s.CasHits += ss.casHits
		s.CasBadval += ss.casBadval
		s.TouchHits += ss.touchHits
		s.ExpiredUnfetched += is.expiredUnfetched
		s.EvictedUnfetched += is.evictedUnfetched
		s.EvictedActive += is.evictedActive
		s.Evictions += is.evicted
		s.Reclaimed += is.reclaimed
		s.CrawlerReclaimed += is.crawlerReclaimed
		s.CrawlerItemsChecked += is.crawlerItemsChecked
		s.LrutailReflocked += is.lrutailReflocked
		s.MovesToCold += is.movesToCold
		s.MovesToWarm += is.movesToWarm
		s.MovesWithinLRU += is.movesWithinLRU
		s.DirectReclaims += is.directReclaims
	}
	return s
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func b01(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// EngineFields lists the engine's general stats as name/value pairs in
// memcached 1.6's order, in groups: the conn interleaves its own stats
// between groups (see the team API notes): cmd_get..store_no_memory,
// limit_maxbytes, hash_power_level..slabs_moved, lru_crawler_running..
// lru_maintainer_juggles, bytes..lru_bumps_dropped.
func (s Stats) EngineFields() []Stat {
	return []Stat{
		{"cmd_get", u(s.CmdGet)}, {"cmd_set", u(s.CmdSet)}, {"cmd_flush", u(s.CmdFlush)},
		{"cmd_touch", u(s.CmdTouch)},
		{"get_hits", u(s.GetHits)}, {"get_misses", u(s.GetMisses)},
		{"get_expired", u(s.GetExpired)}, {"get_flushed", u(s.GetFlushed)},
		{"delete_misses", u(s.DeleteMisses)}, {"delete_hits", u(s.DeleteHits)},
		{"incr_misses", u(s.IncrMisses)}, {"incr_hits", u(s.IncrHits)},
		{"decr_misses", u(s.DecrMisses)}, {"decr_hits", u(s.DecrHits)},
		{"cas_misses", u(s.CasMisses)}, {"cas_hits", u(s.CasHits)}, {"cas_badval", u(s.CasBadval)},
		{"touch_hits", u(s.TouchHits)}, {"touch_misses", u(s.TouchMisses)},
		{"store_too_large", u(s.StoreTooLarge)}, {"store_no_memory", u(s.StoreNoMemory)},
		{"limit_maxbytes", u(s.LimitMaxbytes)},
		{"hash_power_level", u(s.HashPowerLevel)}, {"hash_bytes", u(s.HashBytes)},
		{"hash_is_expanding", b01(s.HashIsExpanding)},
		{"slab_reassign_rescues", u(s.SlabReassignRescues)},
		{"slab_reassign_chunk_rescues", u(s.SlabReassignChunkRescues)},
		{"slab_reassign_evictions_nomem", u(s.SlabReassignEvictionsNomem)},
		{"slab_reassign_inline_reclaim", u(s.SlabReassignInlineReclaim)},
		{"slab_reassign_busy_items", u(s.SlabReassignBusyItems)},
		{"slab_reassign_busy_deletes", u(s.SlabReassignBusyDeletes)},
		{"slab_reassign_running", b01(s.SlabReassignRunning)},
		{"slabs_moved", u(s.SlabsMoved)},
		{"lru_crawler_running", b01(s.LRUCrawlerRunning)},
		{"lru_crawler_starts", u(s.LRUCrawlerStarts)},
		{"lru_maintainer_juggles", u(s.LRUMaintainerJuggles)},
		{"bytes", u(s.Bytes)}, {"curr_items", u(s.CurrItems)}, {"total_items", u(s.TotalItems)},
		{"slab_global_page_pool", u(s.SlabGlobalPagePool)},
		{"expired_unfetched", u(s.ExpiredUnfetched)}, {"evicted_unfetched", u(s.EvictedUnfetched)},
		{"evicted_active", u(s.EvictedActive)}, {"evictions", u(s.Evictions)},
		{"reclaimed", u(s.Reclaimed)}, {"crawler_reclaimed", u(s.CrawlerReclaimed)},
		{"crawler_items_checked", u(s.CrawlerItemsChecked)},
		{"lrutail_reflocked", u(s.LrutailReflocked)},
		{"moves_to_cold", u(s.MovesToCold)}, {"moves_to_warm", u(s.MovesToWarm)},
		{"moves_within_lru", u(s.MovesWithinLRU)}, {"direct_reclaims", u(s.DirectReclaims)},
		{"lru_bumps_dropped", u(s.LRUBumpsDropped)},
	}
}
