package memcache

import "strconv"

// MetaDumpCursor is where a metadump walk stopped; the zero value starts
// one. Pages are never freed, so a cursor stays valid across calls: items
// linked or unlinked between calls may be missed or seen, as they may be
// by memcached's crawler, but no item is read twice within one call.
type MetaDumpCursor struct {
	page, chunk uint32
}

// metaDumpChunksPerCall bounds the chunks one AppendMetaDump call examines,
// so a walk over a large, sparsely used cache yields to other clients.
const metaDumpChunksPerCall = 1 << 16

// AppendMetaDump appends "lru_crawler metadump" lines, memcached 1.6's
// format:
//
//	key=<uri-encoded key> exp=<unix time or -1> la=<unix time> cas=<cas> fetch=<yes|no> cls=<class> size=<ntotal>\n
//
// for the live items of the classes selected (class ids where classes[id]
// is true; every class when classes is nil). It walks the slab pages in
// order from cur and stops once out has grown past limit bytes or after
// metaDumpChunksPerCall chunks; done reports that the walk has ended.
// Expired and flushed items are skipped, as memcached's crawler skips them.
func (c *Cache) AppendMetaDump(out []byte, cur *MetaDumpCursor, classes []bool, limit int) (_ []byte, done bool) {
	if cur.page == 0 {
		cur.page = 1 // page 0 is the placeholder
	}
	start := len(out)
	for budget := metaDumpChunksPerCall; int(cur.page) < len(c.pageMem); cur.page, cur.chunk = cur.page+1, 0 {
		size := c.pageChunk[cur.page]
		if size == 0 {
			continue
		}
		perPage := uint32(c.pageSize) / size
		for ; cur.chunk < perPage; cur.chunk++ {
			if budget == 0 || len(out)-start >= limit {
				return out, false
			}
			budget--
			it := c.pageMem[cur.page][cur.chunk*size:]
			if iflags(it)&itemLinked == 0 {
				continue
			}
			id := clsid(it)
			if classes != nil && (id >= len(classes) || !classes[id]) {
				continue
			}
			if exp := exptime(it); (exp != 0 && exp < c.now) || c.isFlushed(it) {
				continue
			}
			out = c.appendMetaDumpLine(out, it)
		}
	}
	return out, true
}

func (c *Cache) appendMetaDumpLine(out, it []byte) []byte {
	out = append(out, "key="...)
	out = AppendURIEncoded(out, itKey(it))
	out = append(out, " exp="...)
	if exp := exptime(it); exp == 0 {
		out = append(out, "-1"...)
	} else {
		out = strconv.AppendInt(out, int64(exp)+c.processStarted, 10)
	}
	out = append(out, " la="...)
	out = strconv.AppendInt(out, int64(itTime(it))+c.processStarted, 10)
	out = append(out, " cas="...)
	out = strconv.AppendUint(out, itCAS(it), 10)
	if iflags(it)&itemFetched != 0 {
		out = append(out, " fetch=yes cls="...)
	} else {
		out = append(out, " fetch=no cls="...)
	}
	out = strconv.AppendInt(out, int64(clsid(it)), 10)
	out = append(out, " size="...)
	out = strconv.AppendInt(out, int64(c.itemNTotal(it)), 10)
	return append(out, '\n')
}

// AppendURIEncoded appends key as memcached's uriencode writes keys in
// metadump and watch lines: letters, digits and "-._~" as they are, every
// other byte as %XX (upper-case hex).
func AppendURIEncoded(out, key []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, b := range key {
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '-', b == '.', b == '_', b == '~':
			out = append(out, b)
		default:
			out = append(out, '%', hex[b>>4], hex[b&15])
		}
	}
	return out
}

// Eviction describes an item the engine evicts, for "watch evictions".
// Key aliases the item's chunk: it is valid only during the hook call.
type Eviction struct {
	Key        []byte
	Fetched    bool
	TTL        int64  // seconds left, -1 for never
	LastAccess uint32 // seconds since the item was last accessed
	Class      int
	Size       int // value bytes
}

// SetEvictionHook has f called for every item evicted to make room (not
// for expired or flushed items reclaimed), before the item is freed; nil
// removes it. f must not call into the Cache.
func (c *Cache) SetEvictionHook(f func(Eviction)) { c.onEvict = f }

func (c *Cache) evictionOf(it []byte) Eviction {
	ttl := int64(-1)
	if exp := exptime(it); exp != 0 {
		ttl = int64(exp) - int64(c.now)
	}
	return Eviction{Key: itKey(it), Fetched: iflags(it)&itemFetched != 0, TTL: ttl,
		LastAccess: c.now - itTime(it), Class: clsid(it), Size: int(nbytes(it))}
}

// WatchInfo returns the slab class and value size of key's item for watch
// lines, without a bump or a fetch line (like any lookup, it removes the
// item if it has expired); ok is false when the key has no live item.
func (c *Cache) WatchInfo(key []byte) (class, size int, ok bool) {
	c.quiet = true
	ref, it := c.lookup(key)
	c.quiet = false
	if ref == 0 {
		return 0, 0, false
	}
	return clsid(it), int(nbytes(it)), true
}

// ClassFor returns the slab class an item with this key length, client
// flags and value length would take, 0 if it is too large (watch lines of
// stores that did not store).
func (c *Cache) ClassFor(nkey int, flags uint32, nbytes int) int {
	return c.clsidFor(c.ntotal(nkey, flags, nbytes))
}

// FetchStatus is what a lookup found, as memcached's item_get watch lines
// say it: not_found, found, flushed or expired (the last two are found
// items a flush_all or their TTL made invalid, removed by the lookup).
type FetchStatus uint8

// Lookup outcomes, in memcached's order.
const (
	FetchNotFound FetchStatus = iota
	FetchFound
	FetchFlushed
	FetchExpired
)

var fetchStatusNames = [...]string{"not_found", "found", "flushed", "expired"}

func (s FetchStatus) String() string { return fetchStatusNames[s] }

// FetchHook receives every lookup a command makes: key (valid only during
// the call), the outcome, and for a found item its class and value size.
// It must not call into the Cache.
type FetchHook func(key []byte, status FetchStatus, class, size int)

// SetFetchHook has f called for every key lookup commands make, the way
// memcached logs every do_item_get to "watch fetchers": gets, and the
// lookups stores, deletes, arithmetic, touches and meta commands make
// inside. nil removes it.
func (c *Cache) SetFetchHook(f FetchHook) { c.onFetch = f }

func (c *Cache) fetched(key []byte, st FetchStatus, it []byte) {
	if c.onFetch == nil || c.quiet {
		return
	}
	// The hook gets a copy: handing the caller's key to a function value
	// would make every caller's key escape to the heap, hook or not.
	c.fetchKey = append(c.fetchKey[:0], key...)
	if it == nil {
		c.onFetch(c.fetchKey, st, 0, 0)
		return
	}
	c.onFetch(c.fetchKey, st, clsid(it), int(nbytes(it)))
}
