package ycsb

import "strconv"

// FNV-1a 64 constants as YCSB's Utils.fnvhash64 uses them.
const (
	fnvOffset64 = 0xCBF29CE484222325
	fnvPrime64  = 1099511628211
)

// FNVHash64 is YCSB's Utils.fnvhash64: FNV-1a over the eight little-endian
// bytes of v, then Java's Math.abs. Math.abs(Long.MIN_VALUE) stays
// negative in Java, and so it does here.
func FNVHash64(v int64) int64 {
	h := uint64(fnvOffset64)
	u := uint64(v)
	for range 8 {
		h ^= u & 0xff
		u >>= 8 // Java's >> is arithmetic, but only the low 8 bytes are ever read
		h *= fnvPrime64
	}
	s := int64(h)
	if s < 0 {
		s = -s
	}
	return s
}

// KeyName is CoreWorkload.buildKeyName: "user" followed by the key number,
// hashed with FNVHash64 unless inserts are ordered, left-padded with zeros
// to zeroPadding digits.
func KeyName(keynum int64, zeroPadding int, ordered bool) string {
	return string(AppendKeyName(nil, keynum, zeroPadding, ordered))
}

// AppendKeyName appends KeyName's result to dst.
func AppendKeyName(dst []byte, keynum int64, zeroPadding int, ordered bool) []byte {
	if !ordered {
		keynum = FNVHash64(keynum)
	}
	var num [24]byte
	digits := strconv.AppendInt(num[:0], keynum, 10)
	dst = append(dst, "user"...)
	for i := len(digits); i < zeroPadding; i++ {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}
