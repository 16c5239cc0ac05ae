package memcache

// StoreOptions are the storage flags that need engine state.
type StoreOptions struct {
	// CAS is the unique to compare: the cas command, or ms's C flag.
	// ModeSet with a non-zero CAS behaves as ModeCAS; ModeAppend and
	// ModePrepend also refuse to store on a mismatch.
	CAS uint64
	// Invalidate is ms's I flag: with CAS, a CAS lower than the item's is
	// accepted, the item keeps its TTL and is marked stale.
	Invalidate bool
	// NewCAS is ms's E flag: give the stored item this CAS instead of a
	// generated one (0 = generate).
	NewCAS uint64
	// Vivify is ms's N flag: append or prepend to a missing key creates it
	// with the data as its value and VivifyTTL as its exptime.
	Vivify    bool
	VivifyTTL int64
}

// Reservation is a chunk allocated by Reserve for a value the caller fills
// in place. Value (exactly the announced length) stays valid and untouched
// until Commit or Abort, even while other calls into the Cache happen in
// between; after Commit or Abort it must not be used.
type Reservation struct {
	// Value is where the caller writes the item's data.
	Value []byte
	ref   uint32
	gen   uint32
	mode  Mode
	opt   StoreOptions
}

// Reserve allocates an item for key with room for valueLen bytes of value,
// so the caller can read the value straight into it and then Commit. The
// Result is Stored when the reservation was made, otherwise TooLarge or
// NoMemory (nothing to commit; the caller discards the incoming data). As
// in memcached, a failed ModeSet also deletes the key's current value so a
// stale value does not survive a failed overwrite. Errors are returned only
// for a bad mode, key length or value length.
func (c *Cache) Reserve(mode Mode, key []byte, flags uint32, exptime int64, valueLen int, opt StoreOptions) (Reservation, Result, error) {
	if mode < ModeSet || mode > ModeCAS {
		return Reservation{}, 0, ErrBadMode
	}
	if !validKey(key) {
		return Reservation{}, 0, ErrKeyLength
	}
	if valueLen < 0 {
		return Reservation{}, 0, ErrValueLength
	}
	if mode == ModeSet && opt.CAS != 0 {
		mode = ModeCAS
	}
	c.detail.recordSet(key)
	res := TooLarge
	var ref uint32
	if valueLen <= c.cfg.ItemSizeMax {
		ref, res = c.newItem(key, c.hash.hash(key), flags, c.realtime(exptime), valueLen)
	}
	if res != Stored {
		if res == TooLarge {
			c.g.storeTooLarge++
		} else {
			c.g.storeNoMemory++
		}
		if mode == ModeSet {
			if oref, oit := c.lookup(key); oref != 0 {
				c.unlink(oref, oit)
			}
		}
		return Reservation{}, res, nil
	}
	it := c.chunk(ref)
	c.reserveGen++
	if c.reserveGen == 0 {
		c.reserveGen = 1
	}
	setGen(it, c.reserveGen)
	setIFlags(it, itemReserved)
	return Reservation{Value: itValue(it), ref: ref, gen: c.reserveGen, mode: mode, opt: opt}, Stored, nil
}

// reserved checks that r is an outstanding reservation of this cache.
func (c *Cache) reserved(r *Reservation) ([]byte, error) {
	if r == nil || r.ref == 0 {
		return nil, ErrBadReservation
	}
	pi := r.ref >> c.chunkBits
	if pi == 0 || int(pi) >= len(c.pageMem) {
		return nil, ErrBadReservation
	}
	if c.pageChunk[pi] == 0 || uint64(r.ref&c.chunkMask+1)*uint64(c.pageChunk[pi]) > uint64(len(c.pageMem[pi])) {
		return nil, ErrBadReservation
	}
	it := c.chunk(r.ref)
	if iflags(it)&itemReserved == 0 || itGen(it) != r.gen {
		return nil, ErrBadReservation
	}
	return it, nil
}

// Commit stores a filled reservation under the rules of its mode and
// returns the Result and the stored item's CAS (0 unless Stored).
func (c *Cache) Commit(r *Reservation) (Result, uint64, error) {
	it, err := c.reserved(r)
	if err != nil {
		return 0, 0, err
	}
	ref, mode, opt := r.ref, r.mode, r.opt
	*r = Reservation{}
	setIFlags(it, 0)
	c.classes[clsid(it)].ss.setCmds++
	res, cas := c.storeItem(ref, it, mode, opt)
	return res, cas, nil
}

// Abort releases a reservation without storing anything.
func (c *Cache) Abort(r *Reservation) error {
	it, err := c.reserved(r)
	if err != nil {
		return err
	}
	ref := r.ref
	*r = Reservation{}
	c.abandon(ref, it)
	return nil
}

// Store is Reserve, copy, Commit: the one-call form for values already in
// memory. value must not alias a View (views die at the next call).
func (c *Cache) Store(mode Mode, key []byte, flags uint32, exptime int64, value []byte, opt StoreOptions) (Result, uint64, error) {
	r, res, err := c.Reserve(mode, key, flags, exptime, len(value), opt)
	if err != nil || res != Stored {
		return res, 0, err
	}
	copy(r.Value, value)
	return c.Commit(&r)
}

// storeItem is memcached's do_store_item: it links the new item ref (or
// frees it) according to mode, CAS and the current item under its key.
func (c *Cache) storeItem(ref uint32, it []byte, mode Mode, opt StoreOptions) (Result, uint64) {
	inCAS := opt.CAS
	if c.cfg.NoCAS {
		inCAS = 0 // with -C the incoming item carries no CAS, as in memcached
	}
	newCAS := opt.NewCAS
	oref, oit := c.lookupHashed(itKey(it), itHash(it))
	if oref == 0 {
		switch {
		case mode == ModeAdd || mode == ModeSet:
		case mode == ModeCAS:
			c.g.casMisses++
			c.abandon(ref, it)
			return NotFound, 0
		case (mode == ModeAppend || mode == ModePrepend) && opt.Vivify && inCAS == 0:
			setExptime(it, c.realtime(opt.VivifyTTL))
		default:
			c.abandon(ref, it)
			return NotStored, 0
		}
		c.link(ref, it, newCAS)
		return Stored, itCAS(it)
	}

	oldCAS := itCAS(oit)
	op := &c.classes[clsid(oit)]
	switch mode {
	case ModeAdd:
		// add only adds, but promotes the existing item.
		c.touchTime(oit)
		c.abandon(ref, it)
		return NotStored, 0
	case ModeCAS:
		switch {
		case inCAS != 0 && inCAS == oldCAS:
			op.ss.casHits++
		case inCAS != 0 && opt.Invalidate && inCAS < oldCAS:
			// A late writer may store, but the value is marked stale and
			// keeps the current TTL and win-token state.
			setExptime(it, exptime(oit))
			f := iflags(it) | itemStale
			if iflags(oit)&itemTokenSent != 0 {
				f |= itemTokenSent
			}
			setIFlags(it, f)
			op.ss.casHits++
		default:
			op.ss.casBadval++
			c.abandon(ref, it)
			return Exists, 0
		}
	case ModeAppend, ModePrepend:
		if inCAS != 0 && inCAS != oldCAS {
			c.abandon(ref, it)
			return Exists, 0
		}
		nref, nit, ok := c.concat(oref, oit, ref, it, mode == ModeAppend)
		c.abandon(ref, it)
		if !ok {
			return NotStored, 0
		}
		ref, it = nref, nit
	}
	c.replace(oref, oit, ref, it, newCAS)
	return Stored, itCAS(it)
}

// concat builds the item for append/prepend: the old item's key, flags and
// exptime with the two values joined.
func (c *Cache) concat(oref uint32, oit []byte, ref uint32, it []byte, appendMode bool) (uint32, []byte, bool) {
	ov, nv := itValue(oit), itValue(it)
	c.pin(oref, oit)
	nref, res := c.newItem(itKey(oit), itHash(oit), itFlags(oit), exptime(oit), len(ov)+len(nv))
	c.unpin(oref, oit)
	if res != Stored {
		return 0, nil, false
	}
	nit := c.chunk(nref)
	dst := itValue(nit)
	if appendMode {
		copy(dst[copy(dst, ov):], nv)
	} else {
		copy(dst[copy(dst, nv):], ov)
	}
	return nref, nit, true
}
