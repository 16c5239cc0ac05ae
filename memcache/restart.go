package memcache

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
)

// Warm restart (the role of memcached's restart.c): SaveItems writes every
// live item to a stream and RestoreItems reads one back into an empty
// cache. memcached keeps its items in a memory-mapped file and re-links
// them at start; here the caller decides where the stream goes (sealed, in
// SecureCached), so the engine only defines the item stream:
//
//	"SCITEMS1" | items u64 (how many to expect, to size the hash table)
//	item*:  nkey u8 (1..250) | flags u32 | exptime i64 (unix seconds, 0 never)
//	        | cas u64 | nbytes u32 | key | value
//	end:    0 u8 | items u64 | cas counter u64
//
// (little endian). Items are written class by class, COLD's tail first and
// HOT's head last, so restoring them in order leaves the most recently
// used ones at the head. Expiry is absolute, so time spent stopped counts.

var itemsMagic = [8]byte{'S', 'C', 'I', 'T', 'E', 'M', 'S', '1'}

const itemHeaderLen = 1 + 4 + 8 + 8 + 4

// ErrRestoreFormat marks a stream RestoreItems cannot read.
var ErrRestoreFormat = errors.New("memcache: malformed item stream")

// SaveItems writes every live item to w and returns how many it wrote.
// Expired, flushed and reserved items are left out, and so are items
// unlinked while a Pin held them; a pinned linked item is written whole,
// since a pin never lets its bytes change (pin.go).
func (c *Cache) SaveItems(w io.Writer) (int, error) {
	var head [16]byte
	copy(head[:], itemsMagic[:])
	le.PutUint64(head[8:], c.g.currItems)
	if _, err := w.Write(head[:]); err != nil {
		return 0, err
	}
	var hdr [itemHeaderLen]byte
	n := 0
	for id := 1; id < len(c.classes); id++ {
		p := &c.classes[id]
		for _, lru := range [...]int{lruTemp, lruCold, lruWarm, lruHot} {
			for ref := p.tails[lru]; ref != 0; {
				it := c.chunk(ref)
				ref = lprev(it)
				if exp := exptime(it); (exp != 0 && exp <= c.now) || c.isFlushed(it) {
					continue
				}
				abs := int64(0)
				if exp := exptime(it); exp != 0 {
					abs = c.processStarted + int64(exp)
				}
				hdr[0] = uint8(nkey(it))
				le.PutUint32(hdr[1:], itFlags(it))
				le.PutUint64(hdr[5:], uint64(abs))
				le.PutUint64(hdr[13:], itCAS(it))
				le.PutUint32(hdr[21:], nbytes(it))
				if _, err := w.Write(hdr[:]); err != nil {
					return n, err
				}
				if _, err := w.Write(itKey(it)); err != nil {
					return n, err
				}
				if _, err := w.Write(itValue(it)); err != nil {
					return n, err
				}
				n++
			}
		}
	}
	var end [17]byte
	le.PutUint64(end[1:], uint64(n))
	le.PutUint64(end[9:], c.casID)
	_, err := w.Write(end[:])
	return n, err
}

// RestoreStats says what RestoreItems did.
type RestoreStats struct {
	Restored int // items linked
	Expired  int // items whose time ran out while the cache was stopped
	Dropped  int // items that no longer fit (-I or -m shrank)
}

// RestoreItems reads a stream SaveItems wrote and links its items, with
// their flags, expiry and CAS; the CAS counter continues above the saved
// one. Values are read straight into their chunks. On an error the cache
// holds whatever was linked before it: callers that must start empty
// discard the cache.
func (c *Cache) RestoreItems(r io.Reader) (RestoreStats, error) {
	var st RestoreStats
	br := bufio.NewReaderSize(r, 64<<10)
	var head [16]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return st, fmt.Errorf("%w: header: %w", ErrRestoreFormat, err)
	}
	if [8]byte(head[:8]) != itemsMagic {
		return st, fmt.Errorf("%w: bad magic", ErrRestoreFormat)
	}
	c.hashPresize(le.Uint64(head[8:]))
	var hdr [itemHeaderLen]byte
	var key [KeyMaxLength]byte
	for read := 0; ; read++ {
		if _, err := io.ReadFull(br, hdr[:1]); err != nil {
			return st, fmt.Errorf("%w: item %d: %w", ErrRestoreFormat, read, err)
		}
		if hdr[0] == 0 {
			return st, c.restoreEnd(br, read)
		}
		if _, err := io.ReadFull(br, hdr[1:]); err != nil {
			return st, fmt.Errorf("%w: item %d: %w", ErrRestoreFormat, read, err)
		}
		nk := int(hdr[0])
		flags := le.Uint32(hdr[1:])
		abs := int64(le.Uint64(hdr[5:]))
		cas := le.Uint64(hdr[13:])
		nb := int64(le.Uint32(hdr[21:]))
		if nk > KeyMaxLength || nb > ItemSizeMaxLimit {
			return st, fmt.Errorf("%w: item %d: key of %d or value of %d bytes", ErrRestoreFormat, read, nk, nb)
		}
		if _, err := io.ReadFull(br, key[:nk]); err != nil {
			return st, fmt.Errorf("%w: item %d: %w", ErrRestoreFormat, read, err)
		}
		exp, live := c.restoreExptime(abs)
		ref := uint32(0)
		if live {
			k := key[:nk]
			hv := c.hash.hash(k)
			if oref, oit := c.lookupHashed(k, hv); oref != 0 {
				c.unlink(oref, oit)
			}
			var res Result
			ref, res = c.newItem(k, hv, flags, exp, int(nb))
			if res != Stored {
				ref = 0
				st.Dropped++
			}
		} else {
			st.Expired++
		}
		if ref == 0 {
			if _, err := io.CopyN(io.Discard, br, nb); err != nil {
				return st, fmt.Errorf("%w: item %d: %w", ErrRestoreFormat, read, err)
			}
			continue
		}
		it := c.chunk(ref)
		if _, err := io.ReadFull(br, itValue(it)); err != nil {
			c.abandon(ref, it)
			return st, fmt.Errorf("%w: item %d: %w", ErrRestoreFormat, read, err)
		}
		c.link(ref, it, cas)
		if cas > c.casID {
			c.casID = cas
		}
		st.Restored++
	}
}

// restoreExptime turns a saved absolute expiry into engine time, and
// reports whether the item is still alive.
func (c *Cache) restoreExptime(abs int64) (uint32, bool) {
	if abs == 0 {
		return 0, true
	}
	rel := abs - c.processStarted
	if rel <= int64(c.now) {
		return 0, false
	}
	return uint32(min(rel, math.MaxUint32)), true
}

// restoreEnd checks the trailer after read items and resumes the CAS
// counter.
func (c *Cache) restoreEnd(br *bufio.Reader, read int) error {
	var end [16]byte
	if _, err := io.ReadFull(br, end[:]); err != nil {
		return fmt.Errorf("%w: trailer: %w", ErrRestoreFormat, err)
	}
	if n := le.Uint64(end[:]); n != uint64(read) {
		return fmt.Errorf("%w: trailer counts %d items, the stream held %d", ErrRestoreFormat, n, read)
	}
	if cas := le.Uint64(end[8:]); cas > c.casID && !c.cfg.NoCAS {
		c.casID = cas
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: data after the trailer", ErrRestoreFormat)
	}
	return nil
}
