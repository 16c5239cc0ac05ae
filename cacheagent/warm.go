package cacheagent

import (
	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// A gateway relay delivers the requests of a batch of ready clients in one
// message, and they are served one after another. Before that, the agent
// reads the keys the batch's retrievals will look up and warms them in the
// engine (memcache.Cache.Warm), so their cache misses overlap instead of
// coming one lookup at a time: memcached, serving one request at a time,
// cannot. Warming reads only, so a key peeked wrongly costs a few loads.
// TLS sessions' records are ciphertext, so an agent serving TLS does not
// warm.

// minWarm is the fewest keys worth warming: a lone lookup has nothing to
// overlap with, and warming it would only hash its key twice.
const minWarm = 2

// warm is the posix batch observer (see posix.Sys.ObserveBatches).
func (a *Agent) warm(records [][]byte) {
	keys := a.warmKeys[:0]
	for _, r := range records {
		if keys = protocol.PeekKeys(keys, r, memcache.MaxWarm-len(keys)); len(keys) == memcache.MaxWarm {
			break
		}
	}
	if len(keys) >= minWarm {
		a.engine.Warm(keys)
	}
	clear(keys) // they point into the message, which is recycled
	a.warmKeys = keys[:0]
}
