// Package memcache is SecureCached's cache engine: memcached 1.6's semantics
// (items.c, slabs.c, assoc.c) as a pure, deterministic state machine.
//
// The engine is single-threaded by contract: exactly one goroutine at a time
// calls into a Cache, so it holds no locks. Time enters only through New and
// Tick, which the host calls from clock messages; the engine never reads the
// wall clock itself, so tests drive expiry deterministically.
//
// Items live in slab pages allocated as []byte and are addressed by index, not
// pointer, so the Go garbage collector never scans them.
//
// Layout, one subsystem per file, named after memcached's:
//
//   - item.go: the item header inside a chunk and 32-bit item references.
//   - slabs.go: size classes (-n, -f), pages handed out on demand up to -m.
//   - slabs_rebalance.go, slab_automove.go: moving pages between classes.
//   - restart.go: the item stream a warm restart writes and reads back.
//   - assoc.go: the chained hash table and its incremental expansion.
//   - lru.go: segmented HOT/WARM/COLD LRU, maintenance, eviction.
//   - get.go, store.go, delete.go, arith.go, debug.go: the commands.
//   - crawler.go: bounded background reclaim of expired items.
//   - tune.go: run-time tuning (cache_memlimit, lru tune|mode|temp_ttl,
//     stats sizes_enable|disable).
//   - metadump.go: lru_crawler metadump's walk, and what watch lines need
//     (evictions, URI-encoded keys).
//   - stats.go, stats_families.go, detail.go, counters.go: "stats" and friends.
//
// Differences from memcached, on purpose:
//
//   - Large items are not chained across chunks. The slab page size is
//     max(1 MB, -I), and the largest class holds exactly -I bytes, so every
//     item is one contiguous chunk and a read is always one slice. The cost is
//     that with -I above 1 MB every class's pages are that large, so a big -I
//     wants a correspondingly big -m; and memcached's 1.6 class list ends at
//     512 KB (larger items chained) where ours goes up to -I.
//   - The slab page mover (slabs_rebalance.go, slab_automove.go) is not a
//     thread: Tick drives it a bounded number of chunks at a time, so items
//     move only between calls. Chunked items do not exist here, so
//     slab_reassign_chunk_rescues stays 0. A busy chunk (a Reservation's,
//     or a pinned item's) is waited for a bounded number of passes, then
//     the page goes back to its class instead of being deleted under its
//     holder, so slab_reassign_busy_deletes stays 0 too.
//   - pin.go: item pins (memcached's refcount), which let a reply send a
//     value from its chunk across calls.
//   - The hash table holds 4-byte references, half of memcached's pointers.
//   - Sizes used for class choice and for the "bytes" and mem_requested
//     stats follow memcached's ITEM_ntotal formula (header, key+1, flags
//     when non-zero, value+2, CAS), so stats agree with memcached for the
//     same workload; the bytes actually used are never more than that.
//
// This package must never import networking, protocol codecs or Diggi.
package memcache
