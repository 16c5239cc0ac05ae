package ycsb

import (
	"math/rand/v2"
	"strconv"
)

// valueAlphabet holds the bytes field values are made of: printable and free
// of anything JSON would escape, so encoding a record is a plain copy.
const valueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-"

// appendRandomValue appends n random bytes from valueAlphabet (64 symbols,
// so one 64-bit draw gives ten of them).
func appendRandomValue(dst []byte, r *rand.Rand, n int64) []byte {
	for n > 0 {
		u := r.Uint64()
		for k := 0; k < 10 && n > 0; k++ {
			dst = append(dst, valueAlphabet[u&63])
			u >>= 6
			n--
		}
	}
	return dst
}

// appendRecord encodes the chosen fields as a JSON object, the way YCSB's
// memcached binding stores a record ({"field0":"...","field1":"..."}).
// fields lists the field indexes to write.
func (w *Workload) appendRecord(dst []byte, r *rand.Rand, lengths Generator, fields []int) []byte {
	dst = append(dst, '{')
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, w.FieldNamePrefix...)
		dst = strconv.AppendInt(dst, int64(f), 10)
		dst = append(dst, '"', ':', '"')
		dst = appendRandomValue(dst, r, lengths.Next(r))
		dst = append(dst, '"')
	}
	return append(dst, '}')
}
