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

// WatchInfo returns the slab class and value size of key's item without
// side effects (no bump, no counters), for watch lines; ok is false when
// the key has no live item.
func (c *Cache) WatchInfo(key []byte) (class, size int, ok bool) {
	ref, it := c.lookup(key)
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
