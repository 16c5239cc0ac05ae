package memcache

// View is a read-only look at one item. Key and Value alias the slab page
// the item lives in: they are valid only until the next call into the
// Cache (any method), because a later store may evict the item and reuse
// its chunk. Copy what you keep, or Pin the item (pin.go).
type View struct {
	Key   []byte
	Value []byte
	// Flags are the 32-bit client flags.
	Flags uint32
	ref   uint32 // the item, for Pin (here, it fills Flags' padding)
	// CAS is the item's unique; 0 when the engine runs with NoCAS.
	CAS uint64
	// TTL is the remaining time to live in seconds, -1 for "never
	// expires" (mg's t flag). Reported after any touch the call made.
	TTL int64
	// LastAccess is the seconds since the item was last accessed, measured
	// before this call bumped it (mg's l flag).
	LastAccess int64
	// HitBefore reports whether the item had been fetched before this call
	// (mg's h flag).
	HitBefore bool
	// Won, Stale and TokenSent are mg's W, X and Z result flags: this
	// caller won the right to recache; the item is marked stale; another
	// caller already holds the win token (as it was before this call).
	Won, Stale, TokenSent bool
	// Class is the slab class holding the item.
	Class int
	gen   uint64 // the Cache's allocGen when the View was made, for Pin
}
