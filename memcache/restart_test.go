package memcache

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSaveRestoreItems(t *testing.T) {
	c := newTestCache(t, nil)
	type want struct {
		val   string
		flags uint32
		cas   uint64
	}
	model := map[string]want{}
	for i := 0; i < 3000; i++ {
		k := "key:" + strconv.Itoa(i)
		v := strings.Repeat(string(rune('a'+i%26)), i%700)
		exp := int64(0)
		if i%4 == 1 {
			exp = 100 // expires while stopped
		} else if i%4 == 2 {
			exp = 5000
		}
		_, cas := mustStore(t, c, ModeSet, k, v, uint32(i), exp, StoreOptions{})
		if exp != 100 {
			model[k] = want{v, uint32(i), cas}
		}
	}
	mustStore(t, c, ModeSet, "gone", "x", 0, 0, StoreOptions{})
	c.Delete([]byte("gone"), DeleteOptions{})
	lastCAS := c.casID
	var buf bytes.Buffer
	n, err := c.SaveItems(&buf)
	if err != nil || n != 3000 {
		t.Fatalf("SaveItems: %d, %v", n, err)
	}
	// Restart 200 seconds later, with a small initial hash table that
	// the restore sizes at once.
	later := c.Now().Add(200 * time.Second)
	cfg := c.Config()
	cfg.HashPowerInit = 4
	d, err := New(cfg, later)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.RestoreItems(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Restored != len(model) || st.Expired != 750 || st.Dropped != 0 {
		t.Fatalf("restore: %+v, want %d restored, 750 expired", st, len(model))
	}
	checkInvariants(t, d)
	if d.hash.old != nil || 1<<d.hash.power < 3000 {
		t.Fatalf("hash table of 2^%d buckets, expanding %v, after restoring 3000 items", d.hash.power, d.hash.old != nil)
	}
	for k, w := range model {
		v, ok := d.Get([]byte(k))
		if !ok || string(v.Value) != w.val || v.Flags != w.flags || v.CAS != w.cas {
			t.Fatalf("%s: %v %q/%d/%d want %q/%d/%d", k, ok, v.Value, v.Flags, v.CAS, w.val, w.flags, w.cas)
		}
		i, _ := strconv.Atoi(k[4:])
		wantTTL := int64(-1)
		if i%4 == 2 {
			wantTTL = 5000 - 200
		}
		if v.TTL != wantTTL {
			t.Fatalf("%s: ttl %d want %d", k, v.TTL, wantTTL)
		}
	}
	if _, ok := d.Get([]byte("gone")); ok {
		t.Fatal("deleted key came back")
	}
	// A gets-then-cas from before the restart still works, and new CAS
	// values never repeat old ones.
	k := "key:0"
	if res, _ := mustStore(t, d, ModeCAS, k, "new", 0, 0, StoreOptions{CAS: model[k].cas}); res != Stored {
		t.Fatalf("cas with a pre-restart unique: %v", res)
	}
	if v, _ := d.Get([]byte(k)); v.CAS <= lastCAS {
		t.Fatalf("new CAS %d not above the saved counter %d", v.CAS, lastCAS)
	}
}

func TestRestoreIntoSmallerCache(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.MaxBytes = 32 << 20 })
	for i := 0; i < 20000; i++ {
		set(t, c, "k"+strconv.Itoa(i), strings.Repeat("v", 1000))
	}
	var buf bytes.Buffer
	if _, err := c.SaveItems(&buf); err != nil {
		t.Fatal(err)
	}
	cfg := c.Config()
	cfg.MaxBytes = 8 << 20
	cfg.NoEvict = true
	d, err := New(cfg, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.RestoreItems(&buf)
	if err != nil || st.Dropped == 0 || st.Restored+st.Dropped != 20000 {
		t.Fatalf("%+v %v", st, err)
	}
	checkInvariants(t, d)
}

func TestRestoreRefusesBrokenStreams(t *testing.T) {
	c := newTestCache(t, nil)
	for i := 0; i < 100; i++ {
		set(t, c, "k"+strconv.Itoa(i), strings.Repeat("v", i))
	}
	var buf bytes.Buffer
	if _, err := c.SaveItems(&buf); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	for cut := 0; cut < len(full); cut += 37 {
		d := newTestCache(t, nil)
		if _, err := d.RestoreItems(bytes.NewReader(full[:cut])); !errors.Is(err, ErrRestoreFormat) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		checkInvariants(t, d)
	}
	d := newTestCache(t, nil)
	if _, err := d.RestoreItems(bytes.NewReader(append(bytes.Clone(full), 1))); !errors.Is(err, ErrRestoreFormat) {
		t.Fatalf("trailing byte: %v", err)
	}
}
