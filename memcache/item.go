package memcache

import "encoding/binary"

// An item is addressed by a 32-bit reference: the page index in the high
// bits and the chunk index within the page in the low chunkBits bits. Page 0
// is never allocated, so reference 0 means "none", like a NULL pointer.
//
// The item header lives in the first HeaderSize bytes of its chunk, then the
// key, then the value. Keeping the links (hash chain, LRU) and metadata in
// the []byte pages instead of Go structs means the garbage collector sees a
// few hundred large pointer-free byte slices rather than millions of items.
//
// Header layout (little endian):
//
//	 0 hnext   uint32  next item in the hash chain, or next free chunk
//	 4 lprev   uint32  LRU neighbour towards the head
//	 8 lnext   uint32  LRU neighbour towards the tail
//	12 time    uint32  last access, engine-relative seconds
//	16 exptime uint32  expiry, engine-relative seconds, 0 = never
//	20 nbytes  uint32  value length
//	24 cas     uint64
//	32 flags   uint32  client flags
//	36 hash    uint32  key hash, kept so expansion and unlink never rehash
//	40 nkey    uint8
//	41 iflags  uint8   itemLinked, itemFetched, ...
//	42 lru     uint8   lruHot, lruWarm, lruCold, lruTemp
//	43 clsid   uint8
//	44 gen     uint32  reservation generation while itemReserved is set
const (
	offHNext   = 0
	offLPrev   = 4
	offLNext   = 8
	offTime    = 12
	offExptime = 16
	offNBytes  = 20
	offCAS     = 24
	offFlags   = 32
	offHash    = 36
	offNKey    = 40
	offIFlags  = 41
	offLRU     = 42
	offClsid   = 43
	offGen     = 44
)

// Item flag bits (iflags), after memcached's ITEM_* flags.
const (
	itemLinked    = 1 << iota // in the hash table and an LRU
	itemFetched               // fetched at least once
	itemActive                // fetched twice; protected from COLD
	itemStale                 // marked stale by md I / ms I
	itemTokenSent             // a W flag has been handed out
	itemReserved              // allocated by Reserve, awaiting Commit
	itemPinned                // held by a Pin (pin.go); freed at the last Unpin
)

// LRU segments.
const (
	lruHot  = 0
	lruWarm = 1
	lruCold = 2
	lruTemp = 3 // items with a TTL under TemporaryTTL (TempLRU): never evicted
	lruNone = 4
	numLRU  = 4
)

var le = binary.LittleEndian

// ref helpers

func (c *Cache) chunk(ref uint32) []byte {
	pi := ref >> c.chunkBits
	sz := c.pageChunk[pi]
	off := (ref & c.chunkMask) * sz
	return c.pageMem[pi][off : off+sz : off+sz]
}

func hnext(it []byte) uint32       { return le.Uint32(it[offHNext:]) }
func setHNext(it []byte, v uint32) { le.PutUint32(it[offHNext:], v) }
func lprev(it []byte) uint32       { return le.Uint32(it[offLPrev:]) }
func setLPrev(it []byte, v uint32) { le.PutUint32(it[offLPrev:], v) }
func lnext(it []byte) uint32       { return le.Uint32(it[offLNext:]) }
func setLNext(it []byte, v uint32) { le.PutUint32(it[offLNext:], v) }
func itTime(it []byte) uint32      { return le.Uint32(it[offTime:]) }
func setTime(it []byte, v uint32)  { le.PutUint32(it[offTime:], v) }
func exptime(it []byte) uint32     { return le.Uint32(it[offExptime:]) }
func setExptime(it []byte, v uint32) {
	le.PutUint32(it[offExptime:], v)
}
func nbytes(it []byte) uint32       { return le.Uint32(it[offNBytes:]) }
func setNBytes(it []byte, v uint32) { le.PutUint32(it[offNBytes:], v) }
func itCAS(it []byte) uint64        { return le.Uint64(it[offCAS:]) }
func setCAS(it []byte, v uint64)    { le.PutUint64(it[offCAS:], v) }
func itFlags(it []byte) uint32      { return le.Uint32(it[offFlags:]) }
func setFlags(it []byte, v uint32)  { le.PutUint32(it[offFlags:], v) }
func itHash(it []byte) uint32       { return le.Uint32(it[offHash:]) }
func setHash(it []byte, v uint32)   { le.PutUint32(it[offHash:], v) }
func nkey(it []byte) int            { return int(it[offNKey]) }
func iflags(it []byte) uint8        { return it[offIFlags] }
func setIFlags(it []byte, v uint8)  { it[offIFlags] = v }
func lruID(it []byte) int           { return int(it[offLRU]) }
func clsid(it []byte) int           { return int(it[offClsid]) }
func itGen(it []byte) uint32        { return le.Uint32(it[offGen:]) }
func setGen(it []byte, v uint32)    { le.PutUint32(it[offGen:], v) }

func itKey(it []byte) []byte {
	n := int(it[offNKey])
	return it[HeaderSize : HeaderSize+n : HeaderSize+n]
}

func itValue(it []byte) []byte {
	start := HeaderSize + int(it[offNKey])
	end := start + int(le.Uint32(it[offNBytes:]))
	return it[start:end:end]
}

// ntotal is the size memcached's ITEM_ntotal would give an item: header,
// key plus NUL, 4 bytes of client flags when non-zero, value plus "\r\n",
// and 8 bytes of CAS when CAS is on. Classes are chosen and "bytes" is
// counted with it so that stats match memcached's for the same workload; the
// bytes actually used (HeaderSize+key+value) are never more than this.
func (c *Cache) ntotal(nkey int, flags uint32, nbytes int) int {
	n := HeaderSize + nkey + 1 + nbytes + 2
	if flags != 0 {
		n += 4
	}
	if !c.cfg.NoCAS {
		n += 8
	}
	return n
}

func (c *Cache) itemNTotal(it []byte) int {
	return c.ntotal(nkey(it), itFlags(it), int(nbytes(it)))
}
