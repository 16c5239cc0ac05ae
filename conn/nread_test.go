package conn

import (
	"fmt"
	"strings"
	"testing"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// TestLargeValueSplitEquivalence: requests whose values are read straight
// into their items answer exactly as when the whole request arrives in one
// read, however the input is split, for every storage command of the
// three protocols, a bad data chunk and pipelined requests behind the
// value.
func TestLargeValueSplitEquivalence(t *testing.T) {
	big := strings.Repeat("a", 3*streamMin)
	other := strings.Repeat("b", streamMin+1)
	n := func(s string) string { return fmt.Sprint(len(s)) }
	texts := map[string]string{
		"set":        "set k 5 0 " + n(big) + "\r\n" + big + "\r\nget k\r\n",
		"noreply":    "set k 0 0 " + n(big) + " noreply\r\n" + big + "\r\nget k\r\n",
		"add-exists": "set k 0 0 1\r\nx\r\nadd k 0 0 " + n(big) + "\r\n" + big + "\r\nget k\r\n",
		"append":     "set k 0 0 1\r\nx\r\nappend k 0 0 " + n(other) + "\r\n" + other + "\r\nget k\r\n",
		"cas-bad":    "set k 0 0 1\r\nx\r\ncas k 0 0 " + n(big) + " 999\r\n" + big + "\r\nget k\r\n",
		"bad-chunk":  "set k 0 0 " + n(big) + "\r\n" + big + "XYget k\r\nget k\r\n",
		"ms":         "ms k " + n(big) + " T0 F3 c\r\n" + big + "\r\nmg k v f\r\n",
		"ms-quiet":   "ms k " + n(big) + " q\r\n" + big + "\r\nmn\r\n",
		"binary": breq(protocol.OpSet, "k", setExt(7, 0), big) + breq(protocol.OpSetQ, "k2", setExt(0, 0), other) +
			breq(protocol.OpGetK, "k", "", "") + breq(protocol.OpGetK, "k2", "", ""),
	}
	for name, in := range texts {
		t.Run(name, func(t *testing.T) {
			want := newRig(t, Settings{}).run(in, 0)
			if len(want) == 0 {
				t.Fatal("no reply at all")
			}
			for _, split := range []int{1000, 4096, 32 << 10, streamMin - 1} {
				if got := newRig(t, Settings{}).run(in, split); got != want {
					t.Fatalf("split %d: %.200q, want %.200q", split, got, want)
				}
			}
		})
	}
}

// TestLargeValueNotBuffered: a value being received sits in its item, not
// in the connection's input buffer, and is accounted in the engine's
// memory from its first byte.
func TestLargeValueNotBuffered(t *testing.T) {
	r := newRig(t, Settings{})
	val := strings.Repeat("v", 900<<10)
	in := "set k 0 0 " + fmt.Sprint(len(val)) + "\r\n" + val[:len(val)-10]
	for i := 0; i < len(in); i += 16 << 10 {
		r.conn.Feed([]byte(in[i:min(i+16<<10, len(in))]))
		if c := cap(r.conn.in); c > 2*streamMin {
			t.Fatalf("after %d bytes the input buffer holds %d", i, c)
		}
	}
	if got := r.conn.State(); got != "conn_nread" {
		t.Fatalf("state %q while the value is read", got)
	}
	if out := r.conn.Output(); len(out) != 0 {
		t.Fatalf("replied %q before the value was complete", out)
	}
	if st := r.cache.Stats(); st.LimitMaxbytes == 0 || st.TotalMalloced < uint64(len(val)) {
		t.Fatalf("engine has %d bytes of pages for a %d byte value in flight", st.TotalMalloced, len(val))
	}
	if got := r.run(val[len(val)-10:]+"\r\nget k\r\n", 0); got != "STORED\r\nVALUE k 0 "+fmt.Sprint(len(val))+"\r\n"+val+"\r\nEND\r\n" {
		t.Fatalf("completed: %.100q", got)
	}
}

// TestLargeValueRefusedEarly: with the memory limit reached and evictions
// off, a large set is refused with memcached's error as soon as its line
// arrives (memcached replies once it has swallowed the value, the same
// bytes in the same order), its value is swallowed, and the next request
// is served; a value over -I is refused as too large.
func TestLargeValueRefusedEarly(t *testing.T) {
	r := &rig{cache: newCache(t, func(c *memcache.Config) { c.MaxBytes = 2 << 20; c.NoEvict = true }),
		host: &fakeHost{}, shared: &Shared{}}
	r.conn = New(r.cache, r.host, r.shared, Settings{})
	val := strings.Repeat("v", 200<<10)
	set := "set %s 0 0 " + fmt.Sprint(len(val)) + "\r\n"
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("2 MB never filled")
		}
		got := r.run(fmt.Sprintf(set, fmt.Sprint("k", i))+val+"\r\n", 0)
		if got == "SERVER_ERROR out of memory storing object\r\n" {
			break
		}
		if got != "STORED\r\n" {
			t.Fatalf("set k%d: %q", i, got)
		}
	}
	if got := r.run(fmt.Sprintf(set, "late"), 0); got != "SERVER_ERROR out of memory storing object\r\n" {
		t.Fatalf("line alone: %q, want the refusal before the value", got)
	}
	if got := r.run(val+"\r\nget k0 late\r\n", 0); !strings.HasPrefix(got, "VALUE k0 ") || !strings.HasSuffix(got, "\r\nEND\r\n") || strings.Contains(got, "late") {
		t.Fatalf("after the swallowed value: %.80q", got)
	}
	big := "set big 0 0 2000000\r\n"
	if got := r.run(big, 0); got != "SERVER_ERROR object too large for cache\r\n" {
		t.Fatalf("value over -I: %q", got)
	}
	// A binary client, on a connection of its own.
	r.conn = New(r.cache, r.host, r.shared, Settings{})
	bin := breq(protocol.OpSet, "late", setExt(0, 0), val)
	if got := decodeBin(r.run(bin[:100], 0)); !strings.Contains(got, "Out of memory") {
		t.Fatalf("binary head alone: %q", got)
	}
	if got := decodeBin(r.run(bin[100:]+breq(protocol.OpVersion, "", "", ""), 0)); !strings.Contains(got, DefaultVersion) {
		t.Fatalf("after the swallowed binary value: %q", got)
	}
}

// TestLargeValueCloseReleasesItem: a client that goes away part way
// through a value gives its item's memory back.
func TestLargeValueCloseReleasesItem(t *testing.T) {
	cache := newCache(t, func(c *memcache.Config) { c.MaxBytes = 2 << 20; c.NoEvict = true })
	shared := &Shared{}
	val := strings.Repeat("v", 700<<10)
	head := "set k%d 0 0 " + fmt.Sprint(len(val)) + "\r\n"
	var open []*Conn
	for i := 0; ; i++ {
		c := New(cache, &fakeHost{}, shared, Settings{})
		c.Feed([]byte(fmt.Sprintf(head, i) + val[:1000]))
		if out := string(c.Output()); out != "" {
			if out != "SERVER_ERROR out of memory storing object\r\n" {
				t.Fatalf("conn %d: %q", i, out)
			}
			break
		}
		open = append(open, c)
		if i == 10 {
			t.Fatal("10 values of 700 KB in flight in 2 MB")
		}
	}
	if len(open) == 0 {
		t.Fatal("no value could start")
	}
	for _, c := range open {
		c.Close()
	}
	r := &rig{cache: cache, host: &fakeHost{}, shared: shared}
	r.conn = New(cache, r.host, shared, Settings{})
	for i := range open {
		if got := r.run(fmt.Sprintf(head, 100+i)+val+"\r\n", 0); got != "STORED\r\n" {
			t.Fatalf("set %d after the partial clients closed: %q", i, got)
		}
	}
}
