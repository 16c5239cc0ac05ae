package protocol

// Memcached parses numbers with C's strtol/strtoul/strtoull wrapped in its
// safe_strto* helpers (util.c). Their quirks are part of the wire behaviour:
// leading whitespace and a sign are accepted, trailing whitespace ends the
// number, 32-bit results are truncated from the 64-bit conversion (so flags
// 4294967297 store as 1), and a '-' is refused only when the unsigned result
// looks negative as a signed number.

func isCSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

// cstrto converts like strtoull/strtoll in base 10. It returns the magnitude,
// whether a '-' sign was seen, how many bytes were consumed (0 when no digits)
// and whether the magnitude overflowed 64 bits.
func cstrto(s []byte) (mag uint64, neg bool, end int, overflow bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if mag > (^uint64(0)-d)/10 {
			overflow = true
		} else {
			mag = mag*10 + d
		}
		i++
	}
	if i == start {
		return 0, false, 0, false
	}
	return mag, neg, i, overflow
}

// endOK reports whether the conversion stopped where memcached accepts it:
// at the end of the token or at whitespace.
func endOK(s []byte, end int) bool {
	return end > 0 && (end == len(s) || isCSpace(s[end]))
}

// ParseUint64 is memcached's safe_strtoull.
func ParseUint64(s []byte) (uint64, bool) {
	mag, neg, end, overflow := cstrto(s)
	if end == 0 || overflow || !endOK(s, end) {
		return 0, false
	}
	v := mag
	if neg {
		v = -mag
	}
	if int64(v) < 0 && neg {
		return 0, false
	}
	return v, true
}

// ParseUint32 is memcached's safe_strtoul: a 64-bit strtoul truncated to 32
// bits.
func ParseUint32(s []byte) (uint32, bool) {
	v, ok := ParseUint64(s)
	return uint32(v), ok
}

// ParseInt32 is memcached's safe_strtol: a 64-bit strtol (out of range is an
// error) truncated to 32 bits.
func ParseInt32(s []byte) (int32, bool) {
	mag, neg, end, overflow := cstrto(s)
	if end == 0 || overflow || !endOK(s, end) {
		return 0, false
	}
	if neg {
		if mag > 1<<63 {
			return 0, false
		}
		return int32(-int64(mag)), true
	}
	if mag > 1<<63-1 {
		return 0, false
	}
	return int32(int64(mag)), true
}
