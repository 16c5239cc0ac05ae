package memcache

// Prefetching. A lookup pays two dependent cache misses, the bucket head
// and then the item's header, and one request at a time a server pays them
// in series (memcached does). When a batch of requests is known at once (a
// cache agent receives a whole batch of clients' requests in one message),
// their misses can overlap instead: Prefetch loads every key's bucket
// head, then every head item's header and key, as independent loads that
// the processor issues together, so that the lookups which follow find
// their lines in cache. Nothing a client can see changes (no statistics,
// no item or LRU state), so a wrong or stale key costs a few loads.

// MaxPrefetch is the most keys one Prefetch looks at; the rest are ignored.
const MaxPrefetch = 16

// Prefetch brings the hash table lines and item headers that looking up
// keys will touch into the processor's cache (see above).
func (c *Cache) Prefetch(keys [][]byte) {
	var heads [MaxPrefetch]uint32
	n := min(len(keys), MaxPrefetch)
	for i, k := range keys[:n] {
		heads[i] = *c.hash.bucket(c.hash.hash(k))
	}
	// The loads' results are summed and kept so that the compiler does
	// not drop them as unused.
	var sum uint32
	for _, ref := range heads[:n] {
		if ref != 0 {
			it := c.chunk(ref)
			sum += itHash(it) + uint32(it[HeaderSize])
		}
	}
	c.prefetchSum += sum
}
