// Package memcache is SecureCached's cache engine: memcached 1.6's semantics
// (items.c, slabs.c, assoc.c) as a pure, deterministic state machine.
//
// The engine is single-threaded by contract: exactly one goroutine at a time
// calls into a Cache, so it holds no locks. Time enters only through Tick, which
// the host calls from clock messages; the engine never reads the wall clock
// itself, so tests drive expiry deterministically.
//
// Items live in slab pages allocated as []byte and are addressed by index, not
// pointer, so the Go garbage collector never scans them.
//
// This package must never import networking, protocol codecs or Diggi.
package memcache
