package memcache

import "unsafe"

// hugePageSize is the transparent huge page size of x86-64 and of arm64
// with 4 KB base pages; the chunk is aligned to it so that every 2 MB of it
// can be one TLB entry.
const hugePageSize = 2 << 20

// largeChunk is -L's memory (memcached's alloc_large_chunk): all of -m,
// aligned to and advised for huge pages, from which the slab pages are cut
// in order. Items are scattered over the whole of -m and a get touches a
// random one, so with 4 KB pages nearly every request misses the TLB; with
// 2 MB pages a gigabyte needs 512 entries instead of 262,144.
//
// It is allocated in segments of largeSegment bytes rather than in one
// piece: one Go allocation of many gigabytes that the kernel refuses is a
// fatal runtime error, not an error value, and huge pages need alignment,
// not contiguity. The memory comes from the cache's arena (offheap.go).
type largeChunk struct {
	seg    []byte // the current segment's uncut part
	left   int64  // bytes of -m not yet in a segment
	advise error  // why the kernel was not asked for huge pages, or nil
	mem    *arena // where segments come from (nil: the Go heap)
}

// largeSegment is the allocation unit of a largeChunk: 32 huge pages.
const largeSegment = 64 << 20

func newLargeChunk(size int64) *largeChunk { return &largeChunk{left: size} }

// take cuts the next n bytes, or returns nil when -m is used up.
func (p *largeChunk) take(n int) []byte {
	if len(p.seg) < n {
		if p.left < int64(n) {
			return nil
		}
		// Whole pages only, so no page straddles two segments.
		size := max(largeSegment/n, 1) * n
		size = int(min(int64(size), p.left/int64(n)*int64(n)))
		p.left -= int64(size)
		raw := p.mem.alloc(size + hugePageSize)
		off := (hugePageSize - int(uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%hugePageSize)) % hugePageSize
		p.seg = raw[off : off+size : off+size]
		if err := adviseHugePages(p.seg); err != nil && p.advise == nil {
			p.advise = err
		}
	}
	b := p.seg[:n:n]
	p.seg = p.seg[n:]
	return b
}

// LargePages reports on -L: whether it is on, and if so why the kernel was
// not asked for huge pages (nil when it was).
func (c *Cache) LargePages() (on bool, err error) {
	if c.large == nil {
		return false, nil
	}
	return true, c.large.advise
}
