package memcache

import (
	"math"
	"time"
)

// Cache is the engine. It is not safe for concurrent use: the owning agent
// calls it from one goroutine at a time (see the package comment).
type Cache struct {
	cfg      Config
	pageSize int

	// Slab pages. Index 0 is a placeholder so that reference 0 is "none".
	pageMem   [][]byte
	pageChunk []uint32 // chunk size of each page's class
	chunkBits uint
	chunkMask uint32
	maxPages  int
	malloced  int64
	classes   []slabClass
	large     *largeChunk // -L's memory, which the pages are cut from
	mem       *arena      // where page memory comes from (offheap.go)
	pagePool  []uint32    // memcached's global page pool: pages no class holds
	mover     rebalance   // the page being moved between classes, if any
	automove  automover   // slab_automove 1's window of observations

	hash       assoc
	expansions uint64

	// Clock: like memcached, time is kept in seconds relative to
	// processStarted, which is set two seconds before the first reading so
	// that "now - 1" never underflows.
	processStarted int64
	now            uint32

	oldestLive uint32 // flush_all: items last touched at or before this are invalid
	oldestCAS  uint64 // flush_all: items with a lower CAS are invalid
	casID      uint64

	// pins are the items held past the call that found them (pin.go),
	// and the item the current call still reads while it allocates
	// (append's old value, incr's old number), which eviction must skip.
	pins pins
	// allocGen counts the chunks handed out (slabsAllocFrom); a View
	// records it, so Pin can tell a View whose chunk may hold another
	// item since (pin.go).
	allocGen uint64

	reserveGen uint32 // generation stamped into reserved chunks

	crawlBucket uint32 // next hash bucket the expiry crawler visits

	onEvict  func(Eviction) // "watch evictions"; see SetEvictionHook
	onFetch  FetchHook      // "watch fetchers"; see SetFetchHook
	fetchKey []byte         // the key onFetch is given (see fetched)
	quiet    bool           // the lookup in progress is not a command's (WatchInfo)

	g      globalCounters
	detail prefixTable
	sizes  []uint64 // "stats sizes" histogram in 32-byte buckets, or nil
}

// New builds an empty cache with the given configuration, its clock set to
// now.
func New(cfg Config, now time.Time) (*Cache, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Cache{cfg: cfg, pageSize: max(DefaultPageSize, cfg.ItemSizeMax)}
	c.slabsInit()
	if cfg.MaxBytes/int64(c.pageSize)+int64(len(c.classes)) > int64(c.maxPages) {
		return nil, wrapConfig("memory limit -m %d needs more than the %d pages a 32-bit item reference can address with %d-byte pages",
			cfg.MaxBytes, c.maxPages, c.pageSize)
	}
	c.mem = newArena(c)
	c.pageMem = make([][]byte, 1, 64)
	c.pageChunk = make([]uint32, 1, 64)
	if cfg.Preallocate {
		if err := c.preallocate(); err != nil {
			return nil, err
		}
	}
	c.hash.init(cfg.HashPowerInit)
	c.processStarted = now.Unix() - 2
	c.now = 2
	if cfg.TrackSizes {
		c.sizes = make([]uint64, cfg.ItemSizeMax/32+2)
	}
	c.detail.init(cfg.PrefixDelimiter)
	return c, nil
}

// Config returns the configuration the cache runs with.
func (c *Cache) Config() Config { return c.cfg }

// Now returns the engine clock (whole seconds).
func (c *Cache) Now() time.Time {
	return time.Unix(c.processStarted+int64(c.now), 0)
}

// Uptime returns the seconds since New, as "stats uptime" reports.
func (c *Cache) Uptime() int64 { return int64(c.now) - 2 }

// Tick advances the clock to now (never backwards) and does a bounded
// amount of housekeeping: hash table migration, LRU juggling for every
// class, and a crawl over part of the hash table for expired items.
func (c *Cache) Tick(now time.Time) {
	rel := now.Unix() - c.processStarted
	if rel > int64(c.now) {
		if rel > math.MaxUint32-1 {
			rel = math.MaxUint32 - 1
		}
		c.now = uint32(rel)
	}
	c.expandSteps(expandStepsPerTick)
	budget := juggleRoundsPerTickTotal
	for id := 1; id < len(c.classes) && budget > 0; id++ {
		p := &c.classes[id]
		if p.counts[lruHot]+p.counts[lruWarm]+p.counts[lruCold]+p.counts[lruTemp] > 0 {
			budget -= c.juggle(id, min(juggleRoundsPerTick, budget))
			c.g.juggleCycles++
		}
	}
	c.crawl(c.cfg.CrawlBudget)
	c.automoveTick()
	c.rebalanceStep(moverChunksPerTick)
}

// juggleRoundsPerTick bounds per-class LRU maintenance per Tick
// (memcached's maintainer juggles up to 500 times per class per run), and
// juggleRoundsPerTickTotal bounds it over all classes.
const (
	juggleRoundsPerTick      = 500
	juggleRoundsPerTickTotal = 4096
)

// realtime converts a protocol exptime to engine time like memcached's
// realtime(): 0 stays 0 (never), up to 30 days is relative to now, larger
// is an absolute unix time, and negative or past times become 1, which is
// always already expired.
func (c *Cache) realtime(exptime int64) uint32 {
	switch {
	case exptime == 0:
		return 0
	case exptime < 0:
		return 1
	case exptime > RealtimeMaxDelta:
		if exptime <= c.processStarted {
			return 1
		}
		d := exptime - c.processStarted
		if d > math.MaxUint32 {
			return math.MaxUint32
		}
		return uint32(d)
	default:
		return uint32(exptime) + c.now
	}
}

// ttl is the remaining time to live reported by mg's t flag: -1 for never.
func (c *Cache) ttl(it []byte) int64 {
	exp := exptime(it)
	if exp == 0 {
		return -1
	}
	return int64(exp) - int64(c.now)
}

func (c *Cache) nextCAS() uint64 {
	if c.cfg.NoCAS {
		return 0
	}
	c.casID++
	return c.casID
}

// link makes a filled chunk visible: hash table, HOT LRU, counters.
// cas 0 means "generate one".
func (c *Cache) link(ref uint32, it []byte, cas uint64) {
	f := iflags(it) &^ itemReserved
	setIFlags(it, f|itemLinked)
	setTime(it, c.now)
	if c.cfg.NoCAS {
		cas = 0
	} else if cas == 0 {
		cas = c.nextCAS()
	}
	setCAS(it, cas)
	n := c.itemNTotal(it)
	c.g.currItems++
	c.g.totalItems++
	c.g.bytes += uint64(n)
	c.sizesAdd(n)
	c.hashInsert(ref, it)
	c.linkQ(ref, it, c.newItemLRU(it))
}

// unlink removes a linked item from the hash table and its LRU and frees
// its chunk, unless a Pin holds it: then the chunk stays in use, flagged
// itemPinned alone, and the last Unpin frees it (pin.go).
func (c *Cache) unlink(ref uint32, it []byte) {
	if iflags(it)&itemLinked == 0 {
		return
	}
	n := c.itemNTotal(it)
	c.g.currItems--
	c.g.bytes -= uint64(n)
	c.sizesRemove(n)
	c.hashDelete(ref, it)
	c.unlinkQ(ref, it)
	if pinned(it) {
		setIFlags(it, itemPinned)
		return
	}
	c.slabsFree(ref, it)
}

// replace swaps old for a filled new item under the same key.
func (c *Cache) replace(oldRef uint32, old []byte, newRef uint32, nw []byte, cas uint64) {
	c.unlink(oldRef, old)
	c.link(newRef, nw, cas)
}

// abandon frees a chunk that was allocated but never linked.
func (c *Cache) abandon(ref uint32, it []byte) {
	c.slabsFree(ref, it)
}

// newItem allocates and fills the header and key of an unlinked item.
// It returns 0 with TooLarge or NoMemory when that fails.
func (c *Cache) newItem(key []byte, hv uint32, flags uint32, exp uint32, valueLen int) (uint32, Result) {
	n := c.ntotal(len(key), flags, valueLen)
	id := c.clsidFor(n)
	if id == 0 {
		return 0, TooLarge
	}
	ref := c.itemAlloc(id)
	if ref == 0 {
		return 0, NoMemory
	}
	it := c.chunk(ref)
	it[offNKey] = uint8(len(key))
	setNBytes(it, uint32(valueLen))
	setFlags(it, flags)
	setExptime(it, exp)
	setHash(it, hv)
	setTime(it, c.now)
	copy(it[HeaderSize:], key)
	return ref, Stored
}

func validKey(key []byte) bool { return len(key) > 0 && len(key) <= KeyMaxLength }

// SlabPageSize is the size of a slab page: max(1 MB, ItemSizeMax)
// ("stats settings" slab_page_size).
func (c *Cache) SlabPageSize() int { return c.pageSize }

// SlabChunkMax is the chunk size of the largest class, which is
// ItemSizeMax here ("stats settings" slab_chunk_max).
func (c *Cache) SlabChunkMax() int { return int(c.classes[len(c.classes)-1].size) }

// SlabClasses is the number of size classes (the highest class id).
func (c *Cache) SlabClasses() int { return len(c.classes) - 1 }
