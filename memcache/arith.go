package memcache

import "strconv"

// ArithOptions are ma's flags (the text incr/decr use the zero value plus
// Decr and Delta).
type ArithOptions struct {
	// Decr selects decrement (ma's MD / M-); otherwise increment.
	Decr bool
	// Delta is the amount (ma's D; ma's default of 1 is the caller's).
	Delta uint64
	// CAS is ma's C: apply only if the CAS matches.
	CAS uint64
	// Vivify is ma's N: on a miss create the item holding Initial (ma's J)
	// with VivifyTTL; the delta is not applied to a created item.
	Vivify    bool
	VivifyTTL int64
	Initial   uint64
	// Touch is ma's T: set the TTL on success.
	Touch bool
	TTL   int64
	// NewCAS is ma's E: give the updated (or created) item this CAS
	// instead of a generated one (0 = generate).
	NewCAS uint64
}

// ArithView is the state after a successful ma: the new number, the
// item's CAS and remaining TTL (-1 for never).
type ArithView struct {
	Value uint64
	CAS   uint64
	TTL   int64
}

// Incr is the text incr: Hit with the new value, or NotFound, NonNumeric,
// NoMemory. It wraps at 2^64.
func (c *Cache) Incr(key []byte, delta uint64) (uint64, Result) {
	v, res := c.Arith(key, ArithOptions{Delta: delta})
	return v.Value, res
}

// Decr is the text decr; it stops at 0.
func (c *Cache) Decr(key []byte, delta uint64) (uint64, Result) {
	v, res := c.Arith(key, ArithOptions{Decr: true, Delta: delta})
	return v.Value, res
}

// Arith is ma (and the core of incr/decr): Hit, NotFound, Exists (CAS
// mismatch), NonNumeric, NoMemory (no room for a longer number or a
// vivified item).
func (c *Cache) Arith(key []byte, opt ArithOptions) (ArithView, Result) {
	value, ref, it, res := c.addDelta(key, !opt.Decr, opt.Delta, opt.CAS, opt.NewCAS)
	created := false
	switch res {
	case Hit:
	case NotFound:
		if !opt.Vivify || !validKey(key) {
			if opt.Decr {
				c.g.decrMisses++
			} else {
				c.g.incrMisses++
			}
			return ArithView{}, NotFound
		}
		var buf [20]byte
		num := strconv.AppendUint(buf[:0], opt.Initial, 10)
		ref, res = c.newItem(key, c.hash.hash(key), 0, 0, len(num))
		if res != Stored {
			return ArithView{}, NoMemory
		}
		it = c.chunk(ref)
		copy(itValue(it), num)
		c.link(ref, it, opt.NewCAS)
		value, created = opt.Initial, true
	default:
		return ArithView{}, res
	}
	switch {
	case opt.Touch:
		setExptime(it, c.realtime(opt.TTL))
	case created:
		setExptime(it, c.realtime(opt.VivifyTTL))
	}
	return ArithView{Value: value, CAS: itCAS(it), TTL: c.ttl(it)}, Hit
}

// addDelta is memcached's do_add_delta. A result no longer than the stored
// value is written in place, padded with spaces to the old length (so a
// later get returns e.g. "9 "), and the item gets a new CAS; a longer
// result goes into a new item.
func (c *Cache) addDelta(key []byte, incr bool, delta, cas, newCAS uint64) (uint64, uint32, []byte, Result) {
	ref, it := c.lookup(key)
	if ref == 0 {
		return 0, 0, nil, NotFound
	}
	if nbytes(it) == 0 {
		return 0, 0, nil, NonNumeric
	}
	if cas != 0 && itCAS(it) != cas {
		return 0, 0, nil, Exists
	}
	value, ok := parseCounter(itValue(it))
	if !ok {
		return 0, 0, nil, NonNumeric
	}
	p := &c.classes[clsid(it)]
	if incr {
		value += delta
		p.ss.incrHits++
	} else {
		if delta > value {
			value = 0
		} else {
			value -= delta
		}
		p.ss.decrHits++
	}
	var buf [20]byte
	num := strconv.AppendUint(buf[:0], value, 10)
	if len(num) <= int(nbytes(it)) && !pinned(it) {
		// In place, as memcached does when it holds the only reference;
		// a pinned value must not change under its reader (pin.go).
		dst := itValue(it)
		n := copy(dst, num)
		for i := n; i < len(dst); i++ {
			dst[i] = ' '
		}
		if newCAS == 0 || c.cfg.NoCAS {
			newCAS = c.nextCAS()
		}
		setCAS(it, newCAS)
		c.touchTime(it)
		return value, ref, it, Hit
	}
	c.pin(ref, it)
	nref, res := c.newItem(itKey(it), itHash(it), itFlags(it), exptime(it), len(num))
	c.unpin(ref, it)
	if res != Stored {
		return 0, 0, nil, NoMemory
	}
	nit := c.chunk(nref)
	copy(itValue(nit), num)
	c.replace(ref, it, nref, nit, newCAS)
	return value, nref, nit, Hit
}

// parseCounter reads a stored value the way memcached's safe_strtoull
// reads item data (which always ends in "\r\n", so the end of our value
// counts as whitespace): optional leading whitespace and sign, decimal
// digits, then whitespace or the end. No digits, overflow and negative
// numbers are not numeric (checked against memcached 1.6.18).
func parseCounter(b []byte) (uint64, bool) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	start := i
	var v uint64
	overflow := false
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (^uint64(0)-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	if i == start {
		return 0, false
	}
	if overflow || (i < len(b) && !isSpace(b[i])) {
		return 0, false
	}
	if neg {
		v = -v
		if int64(v) < 0 {
			return 0, false
		}
	}
	return v, true
}

func isSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r')
}
