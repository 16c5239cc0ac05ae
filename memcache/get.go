package memcache

// lookup finds a live item. Expired and flushed items met on the way are
// unlinked and counted, as memcached's do_item_get does.
func (c *Cache) lookup(key []byte) (uint32, []byte) {
	if !validKey(key) {
		return 0, nil
	}
	return c.lookupHashed(key, c.hash.hash(key))
}

// lookupHashed is lookup for a key whose hash is known.
func (c *Cache) lookupHashed(key []byte, hv uint32) (uint32, []byte) {
	ref := c.find(key, hv)
	if ref == 0 {
		c.fetched(key, FetchNotFound, nil)
		return 0, nil
	}
	it := c.chunk(ref)
	if c.isFlushed(it) {
		c.unlink(ref, it)
		c.g.getFlushed++
		c.fetched(key, FetchFlushed, nil)
		return 0, nil
	}
	if exp := exptime(it); exp != 0 && exp <= c.now {
		c.unlink(ref, it)
		c.g.getExpired++
		c.fetched(key, FetchExpired, nil)
		return 0, nil
	}
	c.fetched(key, FetchFound, it)
	return ref, it
}

// view describes it as it is before the current call changes it.
func (c *Cache) view(ref uint32, it []byte) View {
	f := iflags(it)
	return View{
		Key:        itKey(it),
		Value:      itValue(it),
		Flags:      itFlags(it),
		CAS:        itCAS(it),
		TTL:        c.ttl(it),
		LastAccess: int64(c.now - itTime(it)),
		HitBefore:  f&itemFetched != 0,
		Stale:      f&itemStale != 0,
		TokenSent:  f&itemTokenSent != 0,
		Class:      clsid(it),
		ref:        ref,
		gen:        c.allocGen,
	}
}

// fetch looks key up for get and gat: it records the access for the
// per-prefix stats and counts a miss in *misses. ref is 0 on a miss.
func (c *Cache) fetch(key []byte, misses *uint64) (uint32, []byte) {
	ref, it := c.lookup(key)
	c.detail.recordGet(key, ref != 0)
	if ref == 0 {
		*misses++
	}
	return ref, it
}

// touchHit is what touch and gat do to a found item: count the hit, bump
// it and set its exptime.
func (c *Cache) touchHit(ref uint32, it []byte, exptime int64) {
	c.classes[clsid(it)].ss.touchHits++
	c.bump(ref, it)
	setExptime(it, c.realtime(exptime))
}

// recordHit counts a get hit on the LRU the item was found in.
func (c *Cache) recordHit(it []byte) {
	p := &c.classes[clsid(it)]
	p.ss.getHits++
	p.is.hitsTo[lruID(it)&3]++
}

// Get looks a key up for get/gets, bumping it in the LRU. Counts cmd_get
// and get_hits or get_misses. A key of bad length is a miss.
func (c *Cache) Get(key []byte) (View, bool) {
	c.g.cmdGet++
	ref, it := c.fetch(key, &c.g.getMisses)
	if ref == 0 {
		return View{}, false
	}
	v := c.view(ref, it)
	c.recordHit(it)
	c.bump(ref, it)
	return v, true
}

// GetAndTouch is gat/gats: a get that also sets the item's exptime.
// Like memcached it counts cmd_touch and touch_hits/touch_misses, not
// cmd_get.
func (c *Cache) GetAndTouch(key []byte, exptime int64) (View, bool) {
	c.g.cmdTouch++
	ref, it := c.fetch(key, &c.g.touchMisses)
	if ref == 0 {
		return View{}, false
	}
	v := c.view(ref, it)
	c.touchHit(ref, it, exptime)
	v.TTL = c.ttl(it)
	return v, true
}

// Touch sets a key's exptime: Touched or NotFound.
func (c *Cache) Touch(key []byte, exptime int64) Result {
	c.g.cmdTouch++
	ref, it := c.lookup(key)
	if ref == 0 {
		c.g.touchMisses++
		return NotFound
	}
	c.touchHit(ref, it, exptime)
	return Touched
}

// MetaGetOptions are the mg flags that need engine state.
type MetaGetOptions struct {
	// NoBump is u: do not bump the LRU, mark fetched or update access time.
	NoBump bool
	// Vivify is N<VivifyTTL>: on a miss create an empty item with that TTL
	// and hand this caller the win token.
	Vivify    bool
	VivifyTTL int64
	// Recache is R<RecacheTTL>: win the token if the remaining TTL is
	// below RecacheTTL and no token was handed out yet.
	Recache    bool
	RecacheTTL int64
	// Touch is T<TTL>: set the item's TTL.
	Touch bool
	TTL   int64
}

// MetaGet is mg. found is false on a miss (without a successful Vivify).
// The View's Won, Stale and TokenSent give the W, X and Z flags; TTL is
// reported after Touch applies.
func (c *Cache) MetaGet(key []byte, opt MetaGetOptions) (v View, found bool) {
	ref, it := c.lookup(key)
	c.detail.recordGet(key, ref != 0)
	created := false
	if ref == 0 && opt.Vivify && validKey(key) {
		var res Result
		ref, res = c.newItem(key, c.hash.hash(key), 0, 0, 0)
		if res == Stored {
			it = c.chunk(ref)
			c.link(ref, it, 0)
			created = true
		}
	}
	if ref == 0 {
		c.g.cmdGet++
		c.g.getMisses++
		return View{}, false
	}
	v = c.view(ref, it)
	if opt.Touch {
		setExptime(it, c.realtime(opt.TTL))
	}
	won := false
	f := iflags(it)
	switch {
	case created:
		setExptime(it, c.realtime(opt.VivifyTTL))
		won = true
	case opt.Recache && f&itemTokenSent == 0:
		if exp := exptime(it); exp != 0 && exp < c.realtime(opt.RecacheTTL) {
			won = true
		}
	}
	if f&itemStale != 0 && f&itemTokenSent == 0 {
		won = true
	}
	if won {
		setIFlags(it, f|itemTokenSent)
	}
	v.Won = won
	v.TTL = c.ttl(it)
	if opt.Touch {
		c.g.cmdTouch++
		c.classes[clsid(it)].ss.touchHits++
	} else {
		c.g.cmdGet++
		c.recordHit(it)
	}
	if !opt.NoBump {
		c.bump(ref, it)
	}
	return v, true
}
