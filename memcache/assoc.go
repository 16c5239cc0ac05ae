package memcache

import (
	"bytes"
	"hash/maphash"
)

// The hash table (memcached's assoc.c): an array of bucket heads, each a
// chain of items linked through their hnext header field. When the table
// holds more than 1.5 items per bucket it doubles; the old table is kept
// and its buckets are migrated a few at a time (expandBucket is the next
// old bucket to move), so no single call pays for a full rehash. During
// expansion a key whose old bucket has not been migrated yet is still
// found in the old table.

const (
	// expandStepsPerInsert old buckets are migrated on each insert, which
	// always finishes an expansion long before the next one is due.
	expandStepsPerInsert = 2
	// expandStepsPerTick old buckets are migrated on each Tick.
	expandStepsPerTick = 16384
)

type assoc struct {
	seed         maphash.Seed
	power        uint     // log2 of len(primary)
	primary      []uint32 // current table
	old          []uint32 // previous table while expanding, else nil
	expandBucket uint32   // next old bucket to migrate
	count        uint32   // items linked
}

func (a *assoc) init(power uint) {
	a.seed = maphash.MakeSeed()
	a.power = power
	a.primary = make([]uint32, 1<<power)
}

func (a *assoc) hash(key []byte) uint32 {
	return uint32(maphash.Bytes(a.seed, key))
}

func (a *assoc) expanding() bool { return a.old != nil }

// bucket returns the head slot that holds (or will hold) hash hv.
func (a *assoc) bucket(hv uint32) *uint32 {
	if a.old != nil {
		if oi := hv & uint32(len(a.old)-1); oi >= a.expandBucket {
			return &a.old[oi]
		}
	}
	return &a.primary[hv&uint32(len(a.primary)-1)]
}

// find returns the item with this key, or 0.
func (c *Cache) find(key []byte, hv uint32) uint32 {
	ref := *c.hash.bucket(hv)
	for ref != 0 {
		it := c.chunk(ref)
		if itHash(it) == hv && int(it[offNKey]) == len(key) && bytes.Equal(itKey(it), key) {
			return ref
		}
		ref = hnext(it)
	}
	return 0
}

// hashInsert links ref (whose header already carries its hash) at the head
// of its bucket, then does a little expansion work.
func (c *Cache) hashInsert(ref uint32, it []byte) {
	a := &c.hash
	b := a.bucket(itHash(it))
	setHNext(it, *b)
	*b = ref
	a.count++
	if a.old != nil {
		c.expandSteps(expandStepsPerInsert)
	} else if uint64(a.count) > uint64(len(a.primary))*3/2 && a.power < hashPowerMax && !c.cfg.NoHashExpand {
		c.startExpand()
	}
}

// hashDelete unlinks ref from its bucket chain.
func (c *Cache) hashDelete(ref uint32, it []byte) {
	a := &c.hash
	b := a.bucket(itHash(it))
	if *b == ref {
		*b = hnext(it)
		a.count--
		return
	}
	for prev := *b; prev != 0; {
		pit := c.chunk(prev)
		next := hnext(pit)
		if next == ref {
			setHNext(pit, hnext(it))
			a.count--
			return
		}
		prev = next
	}
}

// hashPresize grows an empty table at once to hold n items without
// expanding (a warm restart knows how many are coming): inserting them
// into a table that doubles step by step would walk long chains.
func (c *Cache) hashPresize(n uint64) {
	a := &c.hash
	if a.count != 0 || a.old != nil || c.cfg.NoHashExpand {
		return
	}
	// No more than -m can hold in its smallest chunks.
	n = min(n, uint64(c.cfg.MaxBytes)/uint64(c.classes[1].size))
	p := a.power
	for p < hashPowerMax && n > uint64(1)<<p {
		p++
	}
	if p > a.power {
		a.power = p
		a.primary = make([]uint32, 1<<p)
		c.expansions++
	}
}

func (c *Cache) startExpand() {
	a := &c.hash
	a.old = a.primary
	a.power++
	a.primary = make([]uint32, 1<<a.power)
	a.expandBucket = 0
	c.expansions++
}

// expandSteps migrates up to n old buckets into the new table.
func (c *Cache) expandSteps(n int) {
	a := &c.hash
	for ; n > 0 && a.old != nil; n-- {
		ref := a.old[a.expandBucket]
		a.old[a.expandBucket] = 0
		mask := uint32(len(a.primary) - 1)
		for ref != 0 {
			it := c.chunk(ref)
			next := hnext(it)
			b := &a.primary[itHash(it)&mask]
			setHNext(it, *b)
			*b = ref
			ref = next
		}
		a.expandBucket++
		if int(a.expandBucket) == len(a.old) {
			a.old = nil
			a.expandBucket = 0
		}
	}
}
