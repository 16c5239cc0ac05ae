package ycsb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
)

// valueAlphabet holds the bytes field values are made of: printable and free
// of anything JSON would escape, so encoding a record is a plain copy.
const valueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-"

// appendRandomValue appends n random bytes from valueAlphabet (64 symbols,
// so one 64-bit draw gives ten of them, the k-th from bits 6k..6k+5). It
// grows dst once and writes the symbols two at a time from valuePairs:
// every update and insert makes a whole record, so this is a hot loop.
func appendRandomValue(dst []byte, r *rand.Rand, n int64) []byte {
	dst = slices.Grow(dst, int(n))
	at := len(dst)
	dst = dst[:at+int(n)]
	out := dst[at:]
	for len(out) >= 10 {
		u := r.Uint64()
		_ = out[9]
		binary.LittleEndian.PutUint16(out[0:], valuePairs[u&4095])
		binary.LittleEndian.PutUint16(out[2:], valuePairs[(u>>12)&4095])
		binary.LittleEndian.PutUint16(out[4:], valuePairs[(u>>24)&4095])
		binary.LittleEndian.PutUint16(out[6:], valuePairs[(u>>36)&4095])
		binary.LittleEndian.PutUint16(out[8:], valuePairs[(u>>48)&4095])
		out = out[10:]
	}
	if len(out) > 0 {
		u := r.Uint64()
		for k := range out {
			out[k] = valueAlphabet[u&63]
			u >>= 6
		}
	}
	return dst
}

// valuePairs maps 12 random bits to two symbols of valueAlphabet, the
// first from the low six bits, as little-endian uint16s.
var valuePairs = func() (t [4096]uint16) {
	for i := range t {
		t[i] = uint16(valueAlphabet[i&63]) | uint16(valueAlphabet[i>>6])<<8
	}
	return t
}()

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

// MaxRecordLen bounds the length of a record appendRecord makes: every
// field at the longest length, with its name and the JSON framing.
func (w *Workload) MaxRecordLen() int {
	name := len(w.FieldNamePrefix) + len(strconv.Itoa(max(w.FieldCount-1, 0)))
	perField := len(`"":""`) + name + int(w.FieldLength) + len(",")
	return len("{}") + w.FieldCount*perField
}

// CheckRecord reports whether v is a record this workload writes: the
// JSON object appendRecord makes, with known field names, no field twice,
// and every value of a length the field length distribution can give and
// free of quotes. A pipelined driver checks every value it reads with it,
// so a reply that is not a record (another key's framing, a truncated or
// corrupted value) counts as an error. It scans each value with
// bytes.IndexByte, so it costs little next to the copy that brought v.
func (w *Workload) CheckRecord(v []byte) error {
	lo, hi := w.MinFieldLength, w.FieldLength
	if w.FieldLengthDist == "constant" {
		lo = hi
	}
	if len(v) < 2 || v[0] != '{' || v[len(v)-1] != '}' {
		return recordErr("record is not a JSON object")
	}
	rest := v[1 : len(v)-1]
	var seen uint64 // fields below 64 seen; more fields are not checked for repeats
	for n := 0; ; n++ {
		if n == w.FieldCount {
			return recordErr("record has more than %d fields", w.FieldCount)
		}
		if len(rest) < 2 || rest[0] != '"' || !bytes.HasPrefix(rest[1:], []byte(w.FieldNamePrefix)) {
			return recordErr("record field %d: bad name", n)
		}
		rest = rest[1+len(w.FieldNamePrefix):]
		end := bytes.IndexByte(rest, '"')
		if end < 1 || len(rest) < end+3 || rest[end+1] != ':' || rest[end+2] != '"' {
			return recordErr("record field %d: bad name", n)
		}
		f, ok := fieldNumber(rest[:end])
		if !ok || f >= w.FieldCount {
			return recordErr("record field %d: bad name", n)
		}
		if f < 64 {
			if seen&(1<<f) != 0 {
				return recordErr("record field %d repeated", f)
			}
			seen |= 1 << f
		}
		rest = rest[end+3:]
		end = bytes.IndexByte(rest, '"')
		if end < 0 || int64(end) < lo || int64(end) > hi {
			return recordErr("record field %d: value of %d bytes (want %d..%d)", f, end, lo, hi)
		}
		rest = rest[end+1:]
		if len(rest) == 0 {
			return nil
		}
		if rest[0] != ',' {
			return recordErr("record field %d: junk after value", f)
		}
		rest = rest[1:]
	}
}

// ErrBadRecord marks a value that is not a record of the workload.
var ErrBadRecord = errors.New("ycsb: bad record")

func recordErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRecord, fmt.Sprintf(format, args...))
}

// fieldNumber parses a field name's decimal number as appendRecord writes
// it: no sign, no leading zeros, small.
func fieldNumber(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	n := 0
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int(d-'0')
	}
	return n, true
}
