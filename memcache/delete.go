package memcache

// DeleteOptions are md's flags that need engine state.
type DeleteOptions struct {
	// CAS is md's C: delete (or invalidate) only if the CAS matches.
	CAS uint64
	// Invalidate is md's I: keep the item but mark it stale, give it a new
	// CAS and make its win token available again.
	Invalidate bool
	// Touch is md's T (honoured only with Invalidate): set the TTL too.
	Touch bool
	TTL   int64
}

// Delete removes key: Deleted, NotFound, or Exists on a CAS mismatch.
func (c *Cache) Delete(key []byte, opt DeleteOptions) Result {
	ref, it := c.lookup(key)
	c.detail.recordDelete(key)
	if ref == 0 {
		c.g.deleteMisses++
		return NotFound
	}
	if opt.CAS != 0 && itCAS(it) != opt.CAS {
		return Exists
	}
	if opt.Invalidate {
		if opt.Touch {
			setExptime(it, c.realtime(opt.TTL))
		}
		setIFlags(it, (iflags(it)|itemStale)&^itemTokenSent)
		setCAS(it, c.nextCAS())
		return Deleted
	}
	c.classes[clsid(it)].ss.deleteHits++
	c.unlink(ref, it)
	return Deleted
}

// FlushAll is flush_all [exptime]: every item stored or last touched
// before the flush time becomes invalid (memcached's oldest_live). 0 or a
// negative exptime flushes now; otherwise exptime follows the usual rules
// (relative up to 30 days, else absolute) and the flush takes effect then.
// With CAS enabled, an immediate flush also invalidates items written
// earlier in the current second, by CAS order.
func (c *Cache) FlushAll(exptime int64) {
	c.g.cmdFlush++
	newOldest := c.now
	if exptime > 0 {
		newOldest = c.realtime(exptime)
	}
	if c.cfg.NoCAS {
		c.oldestLive = newOldest
		return
	}
	c.oldestLive = newOldest - 1
	if c.oldestLive <= c.now {
		c.oldestCAS = c.nextCAS()
	}
}
