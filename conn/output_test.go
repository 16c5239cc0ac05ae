package conn

import (
	"fmt"
	"strings"
	"testing"
)

// TestMultiGetOutputBounded: a get naming a large value many times is
// answered in shares of about maxPendingOutput, each produced only after
// the host sent the one before, and the whole answer is memcached's.
func TestMultiGetOutputBounded(t *testing.T) {
	r := newRig(t, Settings{})
	val := strings.Repeat("v", 100<<10)
	r.run("set big 0 0 "+fmt.Sprint(len(val))+"\r\n"+val+"\r\n", 0)
	const n = 200 // 20 MB of replies for one request
	more := r.conn.Feed([]byte("get" + strings.Repeat(" big", n) + "\r\n"))
	var got strings.Builder
	shares := 0
	for {
		if n := r.conn.pending(); n > maxPendingOutput+len(val)+100 {
			t.Fatalf("share %d: %d bytes pending, bound %d", shares, n, maxPendingOutput+len(val)+100)
		}
		got.Write(drain(r.conn))
		shares++
		if !more {
			break
		}
		more = r.conn.Process()
	}
	want := strings.Repeat("VALUE big 0 "+fmt.Sprint(len(val))+"\r\n"+val+"\r\n", n) + "END\r\n"
	if got.String() != want {
		t.Fatalf("answer differs: %d bytes, want %d", got.Len(), len(want))
	}
	if shares < 10 {
		t.Fatalf("%d shares for %d MB", shares, len(want)>>20)
	}
	if s := r.cache.Stats(); s.GetHits != n {
		t.Fatalf("get_hits %d, want %d", s.GetHits, n)
	}
}

// TestStuckClientOutputBounded: pipelined gets of a large value that the
// client never reads stop being answered once maxPendingOutput is pending.
func TestStuckClientOutputBounded(t *testing.T) {
	r := newRig(t, Settings{})
	val := strings.Repeat("v", 512<<10)
	r.run("set big 0 0 "+fmt.Sprint(len(val))+"\r\n"+val+"\r\n", 0)
	more := r.conn.Feed([]byte(strings.Repeat("get big\r\n", 20)))
	if !more {
		t.Fatal("all 20 answered at once")
	}
	for range 10 { // the host keeps calling Process without sending
		r.conn.Process()
	}
	if n := r.conn.pending(); n > maxPendingOutput+len(val)+100 {
		t.Fatalf("%d bytes pending for a client that does not read, bound %d", n, maxPendingOutput+len(val)+100)
	}
}

// TestSuspendedGetKeepsItsKeys: the keys of a suspended multi-get survive
// the input buffer being compacted and refilled by later requests, which
// are answered after it, in order.
func TestSuspendedGetKeepsItsKeys(t *testing.T) {
	r := newRig(t, Settings{})
	var keys []string
	for i := range 40 {
		k := fmt.Sprintf("key%02d", i)
		v := strings.Repeat(string(rune('a'+i%26)), 20<<10)
		r.run(fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", k, len(v), v), 0)
		keys = append(keys, k)
	}
	line := "get " + strings.Join(keys, " ") + "\r\n"
	more := r.conn.Feed([]byte(line))
	if !more {
		t.Fatal("the get was not suspended")
	}
	var got strings.Builder
	got.Write(drain(r.conn))
	// Input that makes Feed compact the buffer over the consumed line.
	more = r.conn.Feed([]byte(strings.Repeat("x", len(line)) + "\r\nversion\r\n"))
	for {
		got.Write(drain(r.conn))
		if !more {
			break
		}
		more = r.conn.Process()
	}
	var want strings.Builder
	for i, k := range keys {
		v := strings.Repeat(string(rune('a'+i%26)), 20<<10)
		fmt.Fprintf(&want, "VALUE %s 0 %d\r\n%s\r\n", k, len(v), v)
	}
	want.WriteString("END\r\nERROR\r\nVERSION " + DefaultVersion + "\r\n")
	if got.String() != want.String() {
		t.Fatalf("answer differs (%d bytes, want %d)", got.Len(), want.Len())
	}
}

// TestSuspendedGetConcurrentWrites: while a multi-get is suspended between
// shares, another client overwrites, deletes and re-sizes keys, ones
// already sent and ones still to come. Each value is looked up when its
// turn comes and then copied or pinned whole, so every reply carries one
// whole version of its key (the new one for keys not yet sent: memcached
// would send the version it had looked up first), never a torn mix, and a
// deleted key is skipped.
func TestSuspendedGetConcurrentWrites(t *testing.T) {
	r := newRig(t, Settings{})
	other := New(r.cache, r.host, r.shared, Settings{})
	val := func(i int, c byte) string { return strings.Repeat(string(c), 30<<10+i) }
	var keys []string
	for i := range 30 {
		k := fmt.Sprintf("k%02d", i)
		r.run(fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", k, len(val(i, 'a')), val(i, 'a')), 0)
		keys = append(keys, k)
	}
	more := r.conn.Feed([]byte("get " + strings.Join(keys, " ") + "\r\n"))
	var got strings.Builder
	share := 0
	for {
		got.Write(drain(r.conn))
		if !more {
			break
		}
		// Between shares: rewrite every key (bigger, so into another
		// chunk), delete one still to come, then set it back smaller.
		var w strings.Builder
		for i, k := range keys {
			v := val(i+share+1, byte('b'+share%20))
			fmt.Fprintf(&w, "set %s 0 0 %d noreply\r\n%s\r\n", k, len(v), v)
		}
		fmt.Fprintf(&w, "delete k29 noreply\r\n")
		other.Feed([]byte(w.String()))
		if out := other.Output(); len(out) != 0 {
			t.Fatalf("writer got %q", out)
		}
		share++
		more = r.conn.Process()
	}
	if share < 3 {
		t.Fatalf("the get was answered in %d shares; the test needs it suspended", share+1)
	}
	rest := got.String()
	seen := 0
	for strings.HasPrefix(rest, "VALUE ") {
		var k string
		var flags, n int
		if _, err := fmt.Sscanf(rest, "VALUE %s %d %d\r\n", &k, &flags, &n); err != nil {
			t.Fatalf("reply %d: %v in %.60q", seen, err, rest)
		}
		rest = rest[strings.Index(rest, "\r\n")+2:]
		v := rest[:n]
		if strings.Count(v, v[:1]) != n || rest[n:n+2] != "\r\n" {
			t.Fatalf("%s: torn value of %d bytes", k, n)
		}
		if k != keys[seen] {
			t.Fatalf("reply %d is %s, want %s", seen, k, keys[seen])
		}
		rest = rest[n+2:]
		seen++
	}
	if rest != "END\r\n" || seen != 29 {
		t.Fatalf("%d values then %.40q; want 29 (k29 deleted before its turn) then END", seen, rest)
	}
}
