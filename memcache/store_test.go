package memcache

import (
	"errors"
	"testing"
)

const miss = "\x00miss"

func TestStoreModes(t *testing.T) {
	type step struct {
		mode    Mode
		key     string
		value   string
		opt     StoreOptions
		want    Result
		wantGet string // miss = no item expected
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"set then get", []step{{ModeSet, "k", "v1", StoreOptions{}, Stored, "v1"}}},
		{"set overwrites", []step{
			{ModeSet, "k", "v1", StoreOptions{}, Stored, "v1"},
			{ModeSet, "k", "v2", StoreOptions{}, Stored, "v2"}}},
		{"add on missing", []step{{ModeAdd, "k", "v1", StoreOptions{}, Stored, "v1"}}},
		{"add on existing", []step{
			{ModeSet, "k", "v1", StoreOptions{}, Stored, "v1"},
			{ModeAdd, "k", "v2", StoreOptions{}, NotStored, "v1"}}},
		{"replace on missing", []step{{ModeReplace, "k", "v1", StoreOptions{}, NotStored, miss}}},
		{"replace on existing", []step{
			{ModeSet, "k", "v1", StoreOptions{}, Stored, "v1"},
			{ModeReplace, "k", "v2", StoreOptions{}, Stored, "v2"}}},
		{"append on missing", []step{{ModeAppend, "k", "x", StoreOptions{}, NotStored, miss}}},
		{"append", []step{
			{ModeSet, "k", "abc", StoreOptions{}, Stored, "abc"},
			{ModeAppend, "k", "def", StoreOptions{}, Stored, "abcdef"}}},
		{"prepend", []step{
			{ModeSet, "k", "abc", StoreOptions{}, Stored, "abc"},
			{ModePrepend, "k", "xyz", StoreOptions{}, Stored, "xyzabc"}}},
		{"prepend on missing", []step{{ModePrepend, "k", "x", StoreOptions{}, NotStored, miss}}},
		{"append vivify on miss", []step{{ModeAppend, "k", "x", StoreOptions{Vivify: true, VivifyTTL: 100}, Stored, "x"}}},
		{"cas on missing", []step{{ModeCAS, "k", "x", StoreOptions{CAS: 5}, NotFound, miss}}},
		{"cas zero on existing", []step{
			{ModeSet, "k", "v1", StoreOptions{}, Stored, "v1"},
			{ModeCAS, "k", "v2", StoreOptions{}, Exists, "v1"}}},
		{"empty value", []step{{ModeSet, "k", "", StoreOptions{}, Stored, ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(t, nil)
			for i, s := range tc.steps {
				res, _ := mustStore(t, c, s.mode, s.key, s.value, 0, 0, s.opt)
				if res != s.want {
					t.Fatalf("step %d %v: got %v, want %v", i, s.mode, res, s.want)
				}
				got, ok := getString(c, s.key)
				if s.wantGet == miss {
					if ok {
						t.Fatalf("step %d: key present with %q, want a miss", i, got)
					}
				} else if !ok || got != s.wantGet {
					t.Fatalf("step %d: get = %q,%v want %q", i, got, ok, s.wantGet)
				}
			}
			checkInvariants(t, c)
		})
	}
}

func TestStoreMissLeavesNothing(t *testing.T) {
	c := newTestCache(t, nil)
	for _, m := range []Mode{ModeReplace, ModeAppend, ModePrepend, ModeCAS} {
		res, _ := mustStore(t, c, m, "nokey", "v", 0, 0, StoreOptions{CAS: 1})
		if res == Stored {
			t.Fatalf("%v on missing key stored", m)
		}
		if _, ok := getString(c, "nokey"); ok {
			t.Fatalf("%v on missing key created it", m)
		}
	}
	if s := c.Stats(); s.CurrItems != 0 {
		t.Fatalf("curr_items = %d", s.CurrItems)
	}
	checkInvariants(t, c)
}

func TestAppendKeepsFlagsAndExptime(t *testing.T) {
	c := newTestCache(t, nil)
	mustStore(t, c, ModeSet, "k", "a", 42, 100, StoreOptions{})
	mustStore(t, c, ModeAppend, "k", "b", 7, 0, StoreOptions{})
	mustStore(t, c, ModePrepend, "k", "c", 9, 5000, StoreOptions{})
	v, ok := c.Get([]byte("k"))
	if !ok || string(v.Value) != "cab" || v.Flags != 42 || v.TTL != 100 {
		t.Fatalf("got %q flags %d ttl %d, want cab 42 100", v.Value, v.Flags, v.TTL)
	}
}

func TestCAS(t *testing.T) {
	c := newTestCache(t, nil)
	cas1 := set(t, c, "k", "v1")
	v, _ := c.Get([]byte("k"))
	if v.CAS != cas1 || cas1 == 0 {
		t.Fatalf("gets cas %d, set returned %d", v.CAS, cas1)
	}
	if res, _ := mustStore(t, c, ModeCAS, "k", "v2", 0, 0, StoreOptions{CAS: cas1 + 100}); res != Exists {
		t.Fatalf("bad cas: %v", res)
	}
	res, cas2 := mustStore(t, c, ModeCAS, "k", "v2", 0, 0, StoreOptions{CAS: cas1})
	if res != Stored || cas2 <= cas1 {
		t.Fatalf("good cas: %v cas %d", res, cas2)
	}
	if res, _ := mustStore(t, c, ModeCAS, "k", "v3", 0, 0, StoreOptions{CAS: cas1}); res != Exists {
		t.Fatalf("stale cas: %v", res)
	}
	// ms in set mode with C is a CAS store.
	if res, _ := mustStore(t, c, ModeSet, "k", "v4", 0, 0, StoreOptions{CAS: cas1}); res != Exists {
		t.Fatalf("set with stale C: %v", res)
	}
	// append with a CAS checks it.
	if res, _ := mustStore(t, c, ModeAppend, "k", "x", 0, 0, StoreOptions{CAS: cas1}); res != Exists {
		t.Fatalf("append with stale C: %v", res)
	}
	if res, _ := mustStore(t, c, ModeAppend, "k", "x", 0, 0, StoreOptions{CAS: cas2}); res != Stored {
		t.Fatalf("append with good C: %v", res)
	}
	s := c.Stats()
	if s.CasHits != 1 || s.CasBadval != 3 || s.CasMisses != 0 {
		t.Fatalf("cas stats hits %d badval %d misses %d", s.CasHits, s.CasBadval, s.CasMisses)
	}
	// E: explicit new CAS.
	res, cas := mustStore(t, c, ModeSet, "e", "v", 0, 0, StoreOptions{NewCAS: 999999})
	if res != Stored || cas != 999999 {
		t.Fatalf("E flag: %v cas %d", res, cas)
	}
}

func TestNoCAS(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.NoCAS = true })
	if cas := set(t, c, "k", "v"); cas != 0 {
		t.Fatalf("cas %d with -C", cas)
	}
	v, _ := c.Get([]byte("k"))
	if v.CAS != 0 {
		t.Fatalf("gets cas %d with -C", v.CAS)
	}
	// memcached -C: a cas command finds no CAS to match.
	if res, _ := mustStore(t, c, ModeCAS, "k", "v2", 0, 0, StoreOptions{CAS: 0}); res != Exists {
		t.Fatalf("cas with -C: %v", res)
	}
	if res, _ := mustStore(t, c, ModeCAS, "missing", "v2", 0, 0, StoreOptions{CAS: 1}); res != NotFound {
		t.Fatalf("cas on missing with -C: %v", res)
	}
}

func TestStoreErrors(t *testing.T) {
	c := newTestCache(t, nil)
	long := make([]byte, KeyMaxLength+1)
	for i := range long {
		long[i] = 'a'
	}
	if _, _, err := c.Store(ModeSet, long, 0, 0, nil, StoreOptions{}); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("long key: %v", err)
	}
	if _, _, err := c.Store(ModeSet, long[:KeyMaxLength], 0, 0, nil, StoreOptions{}); err != nil {
		t.Fatalf("250-byte key: %v", err)
	}
	if _, _, err := c.Store(ModeSet, nil, 0, 0, nil, StoreOptions{}); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("empty key: %v", err)
	}
	if _, _, err := c.Store(Mode(99), []byte("k"), 0, 0, nil, StoreOptions{}); !errors.Is(err, ErrBadMode) {
		t.Fatalf("bad mode: %v", err)
	}
	if _, _, err := c.Reserve(ModeSet, []byte("k"), 0, 0, -1, StoreOptions{}); !errors.Is(err, ErrValueLength) {
		t.Fatalf("negative length: %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	c := newTestCache(t, nil)
	set(t, c, "k", "old")
	big := make([]byte, 1<<20)
	res, _, err := c.Store(ModeSet, []byte("k"), 0, 0, big, StoreOptions{})
	if err != nil || res != TooLarge {
		t.Fatalf("1 MB value: %v %v", res, err)
	}
	// A failed set must not leave the old value behind.
	if _, ok := getString(c, "k"); ok {
		t.Fatal("old value survived a failed set")
	}
	// The largest value that fits: ntotal == ItemSizeMax.
	n := c.cfg.ItemSizeMax - c.ntotal(1, 0, 0)
	if res, _, _ := c.Store(ModeSet, []byte("k"), 0, 0, make([]byte, n), StoreOptions{}); res != Stored {
		t.Fatalf("max-size value: %v", res)
	}
	if res, _, _ := c.Store(ModeSet, []byte("k"), 0, 0, make([]byte, n+1), StoreOptions{}); res != TooLarge {
		t.Fatalf("max+1 value: %v", res)
	}
	// Appending past the limit is NOT_STORED, the old value stays.
	set(t, c, "a", "x")
	if res, _, _ := c.Store(ModeAppend, []byte("a"), 0, 0, make([]byte, n), StoreOptions{}); res != NotStored {
		t.Fatalf("append past limit: %v", res)
	}
	if v, ok := getString(c, "a"); !ok || v != "x" {
		t.Fatalf("after failed append: %q %v", v, ok)
	}
	if s := c.Stats(); s.StoreTooLarge != 2 {
		t.Fatalf("store_too_large = %d", s.StoreTooLarge)
	}
	checkInvariants(t, c)
}

func TestReserveCommitAbort(t *testing.T) {
	c := newTestCache(t, nil)
	r, res, err := c.Reserve(ModeSet, []byte("k"), 3, 0, 5, StoreOptions{})
	if err != nil || res != Stored || len(r.Value) != 5 {
		t.Fatalf("Reserve: %v %v len %d", res, err, len(r.Value))
	}
	// Other traffic between Reserve and Commit must not disturb the chunk.
	for i := 0; i < 1000; i++ {
		set(t, c, "other"+string(rune('a'+i%26)), "zzzzz")
	}
	copy(r.Value, "hello")
	r2, _, _ := c.Reserve(ModeSet, []byte("k2"), 0, 0, 1, StoreOptions{})
	if err := c.Abort(&r2); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if err := c.Abort(&r2); !errors.Is(err, ErrBadReservation) {
		t.Fatalf("double Abort: %v", err)
	}
	saved := r
	if res, _, err := c.Commit(&r); err != nil || res != Stored {
		t.Fatalf("Commit: %v %v", res, err)
	}
	if _, _, err := c.Commit(&r); !errors.Is(err, ErrBadReservation) {
		t.Fatalf("double Commit: %v", err)
	}
	if _, _, err := c.Commit(&saved); !errors.Is(err, ErrBadReservation) {
		t.Fatalf("Commit of a copy: %v", err)
	}
	if v, ok := c.Get([]byte("k")); !ok || string(v.Value) != "hello" || v.Flags != 3 {
		t.Fatalf("get after commit: %q %v", v.Value, ok)
	}
	if _, ok := getString(c, "k2"); ok {
		t.Fatal("aborted key is visible")
	}
	checkInvariants(t, c)
	var zero Reservation
	if _, _, err := c.Commit(&zero); !errors.Is(err, ErrBadReservation) {
		t.Fatalf("zero reservation: %v", err)
	}
}

func TestForgedReservation(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.ItemSizeMax = 64 << 20; cfg.MaxBytes = 256 << 20 })
	r, _, _ := c.Reserve(ModeSet, []byte("big"), 0, 0, 40<<20, StoreOptions{})
	for _, ref := range []uint32{r.ref | c.chunkMask, 0xFFFFFFFF, r.ref + 1, 1} {
		forged := Reservation{ref: ref, gen: r.gen}
		if _, _, err := c.Commit(&forged); !errors.Is(err, ErrBadReservation) {
			t.Fatalf("forged ref %x: %v", ref, err)
		}
	}
	if err := c.Abort(&r); err != nil {
		t.Fatal(err)
	}
}

func TestNoPerItemAllocations(t *testing.T) {
	c := newTestCache(t, nil)
	key, val := []byte("key:1"), make([]byte, 1024)
	c.Store(ModeSet, key, 0, 0, val, StoreOptions{}) // first page of the class
	if n := testing.AllocsPerRun(1000, func() {
		c.Store(ModeSet, key, 0, 0, val, StoreOptions{})
	}); n != 0 {
		t.Fatalf("Store allocates %.1f times per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, ok := c.Get(key); !ok {
			t.Fatal("miss")
		}
	}); n != 0 {
		t.Fatalf("Get allocates %.1f times per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		c.MetaGet(key, MetaGetOptions{Touch: true, TTL: 10})
		c.Arith([]byte("none"), ArithOptions{Delta: 1})
		c.Delete([]byte("none"), DeleteOptions{})
	}); n != 0 {
		t.Fatalf("meta calls allocate %.1f times per call", n)
	}
}
