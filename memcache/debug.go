package memcache

// DebugView is what meta debug ("me <key>") prints:
// "ME <key> exp=<Exp> la=<LastAccess> cas=<CAS> fetch=<yes|no> cls=<Class> size=<Size>".
type DebugView struct {
	// Exp is the remaining TTL in seconds, -1 for never.
	Exp int64
	// LastAccess is the seconds since the item was last accessed.
	LastAccess int64
	CAS        uint64
	// Fetched reports whether the item was ever fetched.
	Fetched bool
	// Class is the item's slab class.
	Class int
	// Size is the item's total size as memcached counts it (ITEM_ntotal).
	Size int
}

// Debug looks key up without side effects on the item (no LRU bump, no
// fetched mark, no get counters), for "me". Like any lookup it lazily
// removes the item if it has expired or was flushed.
func (c *Cache) Debug(key []byte) (DebugView, bool) {
	ref, it := c.lookup(key)
	if ref == 0 {
		return DebugView{}, false
	}
	return DebugView{
		Exp:        c.ttl(it),
		LastAccess: int64(c.now - itTime(it)),
		CAS:        itCAS(it),
		Fetched:    iflags(it)&itemFetched != 0,
		Class:      clsid(it),
		Size:       c.itemNTotal(it),
	}, true
}
