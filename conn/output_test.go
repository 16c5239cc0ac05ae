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
		o := r.conn.Output()
		if len(o) > maxPendingOutput+len(val)+100 {
			t.Fatalf("share %d: %d bytes pending, bound %d", shares, len(o), maxPendingOutput+len(val)+100)
		}
		got.Write(o)
		r.conn.Sent(len(o))
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
	if n := len(r.conn.Output()); n > maxPendingOutput+len(val)+100 {
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
	got.Write(r.conn.Output())
	r.conn.Sent(len(r.conn.Output()))
	// Input that makes Feed compact the buffer over the consumed line.
	more = r.conn.Feed([]byte(strings.Repeat("x", len(line)) + "\r\nversion\r\n"))
	for {
		o := r.conn.Output()
		got.Write(o)
		r.conn.Sent(len(o))
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
