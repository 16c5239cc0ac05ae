package cacheagent

import (
	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// A gateway relay delivers the requests of a batch of ready clients in one
// message, and they are served one after another. Before that, the agent
// reads the keys the batch's retrievals will look up and prefetches them in
// the engine (memcache.Cache.Prefetch), so that their cache misses overlap
// instead of coming one lookup at a time: memcached, serving one request at
// a time, cannot. Prefetching changes nothing a client can see, so a key
// peeked wrongly costs a few loads. TLS sessions' records are ciphertext,
// so an agent serving TLS does not prefetch.

// minPrefetch is the fewest keys worth prefetching: a lone lookup has
// nothing to overlap with, and prefetching it would only hash its key twice.
const minPrefetch = 2

// prefetch is the posix batch observer (see posix.Sys.ObserveBatches).
func (a *Agent) prefetch(records [][]byte) {
	keys := a.prefetchKeys[:0]
	for _, r := range records {
		if keys = protocol.PeekKeys(keys, r, memcache.MaxPrefetch-len(keys)); len(keys) == memcache.MaxPrefetch {
			break
		}
	}
	if len(keys) >= minPrefetch {
		a.engine.Prefetch(keys)
	}
	clear(keys) // they point into the message, which is recycled
	a.prefetchKeys = keys[:0]
}
