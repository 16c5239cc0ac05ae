package ycsb

import (
	"encoding/binary"
	"hash/fnv"
	"strconv"
	"testing"
)

// fnvByHand is YCSB's Utils.fnvhash64 rebuilt from the FNV-1a definition:
// hash the eight little-endian bytes of v, then take Java's Math.abs.
func fnvByHand(v int64) int64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
	s := int64(h.Sum64())
	if s < 0 {
		s = -s
	}
	return s
}

func TestFNVHash64(t *testing.T) {
	for _, v := range []int64{0, 1, 2, 42, 999, 1000, 123456789, -1, 1 << 40} {
		if got, want := FNVHash64(v), fnvByHand(v); got != want {
			t.Errorf("FNVHash64(%d) = %d, want %d", v, got, want)
		}
	}
	// FNV-1a-64 of eight zero bytes, worked by hand: start at the offset
	// basis and multiply by the prime eight times (xor with 0 is a no-op).
	h := uint64(0xCBF29CE484222325)
	for range 8 {
		h *= 1099511628211
	}
	want := int64(h)
	if want < 0 {
		want = -want
	}
	if got := FNVHash64(0); got != want {
		t.Errorf("FNVHash64(0) = %d, want %d", got, want)
	}
}

func TestKeyName(t *testing.T) {
	tests := []struct {
		keynum  int64
		pad     int
		ordered bool
		want    string
	}{
		{5, 1, true, "user5"},
		{5, 10, true, "user0000000005"},
		{1234567, 3, true, "user1234567"},
		{0, 1, false, "user" + strconv.FormatInt(fnvByHand(0), 10)},
		{77, 1, false, "user" + strconv.FormatInt(fnvByHand(77), 10)},
		{77, 25, false, "user" + zeros(25-len(strconv.FormatInt(fnvByHand(77), 10))) + strconv.FormatInt(fnvByHand(77), 10)},
	}
	for _, tt := range tests {
		if got := KeyName(tt.keynum, tt.pad, tt.ordered); got != tt.want {
			t.Errorf("KeyName(%d, %d, %v) = %q, want %q", tt.keynum, tt.pad, tt.ordered, got, tt.want)
		}
	}
}

// TestKeyNamesSeenInYCSBOutput pins the first keys a real YCSB load
// inserts with the default hashed insert order (as they appear in YCSB's
// own traces: "INSERT usertable user6284781860667377211 ...").
func TestKeyNamesSeenInYCSBOutput(t *testing.T) {
	for i, want := range []string{"user6284781860667377211", "user8517097267634966620", "user1820151046732198393"} {
		if got := KeyName(int64(i), 1, false); got != want {
			t.Errorf("KeyName(%d) = %s, want %s", i, got, want)
		}
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

func BenchmarkKeyNameHashed(b *testing.B) {
	var buf []byte
	i := int64(0)
	for b.Loop() {
		buf = AppendKeyName(buf[:0], i, 1, false)
		i++
	}
}
