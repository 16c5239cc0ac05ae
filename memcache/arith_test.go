package memcache

import (
	"math"
	"strconv"
	"testing"
)

func TestIncrDecr(t *testing.T) {
	tests := []struct {
		name      string
		initial   string
		decr      bool
		delta     uint64
		want      uint64
		wantRes   Result
		wantStore string // stored value afterwards
	}{
		{"incr", "10", false, 5, 15, Hit, "15"},
		{"incr grows length", "99", false, 1, 100, Hit, "100"},
		{"decr shrinks length is space padded", "10", true, 1, 9, Hit, "9 "},
		{"decr floors at zero", "5", true, 10, 0, Hit, "0"},
		{"decr exact zero", "5", true, 5, 0, Hit, "0"},
		{"incr wraps at 2^64", "18446744073709551615", false, 2, 1, Hit, "1                   "},
		{"incr max", "18446744073709551614", false, 1, math.MaxUint64, Hit, "18446744073709551615"},
		{"leading and trailing space", " 5 ", false, 1, 6, Hit, "6  "},
		{"leading zeros", "0007", false, 1, 8, Hit, "8   "},
		{"plus sign", "+7", false, 1, 8, Hit, "8 "},
		{"blank", "  ", false, 3, 0, NonNumeric, "  "},
		{"space then letter", " x", false, 1, 0, NonNumeric, " x"},
		{"empty is non-numeric", "", false, 1, 0, NonNumeric, ""},
		{"letters", "abc", false, 1, 0, NonNumeric, "abc"},
		{"trailing garbage", "12abc", false, 1, 0, NonNumeric, "12abc"},
		{"negative", "-1", false, 1, 0, NonNumeric, "-1"},
		{"minus zero", "-0", false, 1, 1, Hit, "1 "},
		{"overflow", "18446744073709551616", false, 1, 0, NonNumeric, "18446744073709551616"},
		{"number then space then text", "12 ab", true, 2, 10, Hit, "10   "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(t, nil)
			cas := set(t, c, "n", tc.initial)
			var got uint64
			var res Result
			if tc.decr {
				got, res = c.Decr([]byte("n"), tc.delta)
			} else {
				got, res = c.Incr([]byte("n"), tc.delta)
			}
			if res != tc.wantRes || got != tc.want {
				t.Fatalf("got %d %v, want %d %v", got, res, tc.want, tc.wantRes)
			}
			v, ok := c.Get([]byte("n"))
			if !ok || string(v.Value) != tc.wantStore {
				t.Fatalf("stored %q, want %q", v.Value, tc.wantStore)
			}
			if res == Hit && v.CAS == cas {
				t.Fatal("CAS unchanged after incr/decr")
			}
			checkInvariants(t, c)
		})
	}
}

func TestIncrMissAndStats(t *testing.T) {
	c := newTestCache(t, nil)
	if _, res := c.Incr([]byte("none"), 1); res != NotFound {
		t.Fatalf("incr miss: %v", res)
	}
	if _, res := c.Decr([]byte("none"), 1); res != NotFound {
		t.Fatalf("decr miss: %v", res)
	}
	set(t, c, "n", "1")
	c.Incr([]byte("n"), 1)
	c.Decr([]byte("n"), 1)
	c.Decr([]byte("n"), 1)
	s := c.Stats()
	if s.IncrMisses != 1 || s.DecrMisses != 1 || s.IncrHits != 1 || s.DecrHits != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestArithMeta(t *testing.T) {
	c := newTestCache(t, nil)
	// N + J: vivify with the initial value, delta not applied.
	v, res := c.Arith([]byte("cnt"), ArithOptions{Delta: 1, Vivify: true, VivifyTTL: 100, Initial: 13})
	if res != Hit || v.Value != 13 || v.TTL != 100 || v.CAS == 0 {
		t.Fatalf("vivify: %+v %v", v, res)
	}
	v, res = c.Arith([]byte("cnt"), ArithOptions{Delta: 1})
	if res != Hit || v.Value != 14 {
		t.Fatalf("incr after vivify: %+v %v", v, res)
	}
	// C: CAS must match.
	if _, res := c.Arith([]byte("cnt"), ArithOptions{Delta: 1, CAS: v.CAS + 1}); res != Exists {
		t.Fatalf("bad cas: %v", res)
	}
	v2, res := c.Arith([]byte("cnt"), ArithOptions{Delta: 4, Decr: true, CAS: v.CAS})
	if res != Hit || v2.Value != 10 || v2.CAS == v.CAS {
		t.Fatalf("good cas decr: %+v %v", v2, res)
	}
	// T: update TTL on success.
	v3, _ := c.Arith([]byte("cnt"), ArithOptions{Delta: 0, Touch: true, TTL: 500})
	if v3.TTL != 500 {
		t.Fatalf("T: ttl %d", v3.TTL)
	}
	// E: explicit CAS, in place and when the number grows.
	if v, _ := c.Arith([]byte("cnt"), ArithOptions{Delta: 1, NewCAS: 777}); v.CAS != 777 {
		t.Fatalf("E in place: cas %d", v.CAS)
	}
	if v, _ := c.Arith([]byte("cnt"), ArithOptions{Delta: 1000, NewCAS: 778}); v.CAS != 778 || v.Value != 1011 {
		t.Fatalf("E on growth: %+v", v)
	}
	// Miss without N.
	if _, res := c.Arith([]byte("other"), ArithOptions{Delta: 1}); res != NotFound {
		t.Fatalf("miss: %v", res)
	}
	checkInvariants(t, c)
}

func TestParseCounterMatchesStrconv(t *testing.T) {
	for _, n := range []uint64{0, 1, 9, 10, 12345, math.MaxUint32, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64} {
		s := strconv.FormatUint(n, 10)
		got, ok := parseCounter([]byte(s))
		if !ok || got != n {
			t.Fatalf("parse %s = %d %v", s, got, ok)
		}
	}
}

func FuzzParseCounter(f *testing.F) {
	for _, s := range []string{"0", "12", " 1 ", "-1", "+5", "abc", "18446744073709551616", "", " x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := parseCounter(b)
		if !ok {
			return
		}
		// Whatever parses as digits must round-trip through strconv when
		// it is a plain decimal.
		if n, err := strconv.ParseUint(string(b), 10, 64); err == nil && n != v {
			t.Fatalf("parseCounter(%q) = %d, strconv says %d", b, v, n)
		}
	})
}
