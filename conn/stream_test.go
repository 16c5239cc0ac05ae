package conn

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// setValue stores key=val through the rig.
func (r *rig) setValue(t *testing.T, key, val string) {
	t.Helper()
	if got := r.run(fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", key, len(val), val), 0); got != "STORED\r\n" {
		t.Fatalf("set %s: %q", key, got)
	}
}

// checkNoPins fails the test if any item pin is still held.
func checkNoPins(t testing.TB, r *rig) {
	t.Helper()
	if n := r.cache.PinsHeld(); n != 0 {
		t.Fatalf("%d item pins held", n)
	}
}

// TestLargeValueSentFromItem: a value of sendFromItemMin bytes or more is
// handed to the host from its item (Output is the item's memory, not a
// copy), a smaller one from the output buffer; the bytes are memcached's
// either way, for get, gets, gat and mg.
func TestLargeValueSentFromItem(t *testing.T) {
	r := newRig(t, Settings{})
	big := strings.Repeat("B", sendFromItemMin)
	small := strings.Repeat("s", sendFromItemMin-1)
	r.setValue(t, "big", big)
	r.setValue(t, "small", small)
	cases := []struct{ req, want string }{
		{"get big small\r\n", "VALUE big 0 " + fmt.Sprint(len(big)) + "\r\n" + big + "\r\n" +
			"VALUE small 0 " + fmt.Sprint(len(small)) + "\r\n" + small + "\r\nEND\r\n"},
		{"gets big\r\n", "VALUE big 0 " + fmt.Sprint(len(big)) + " 1\r\n" + big + "\r\nEND\r\n"},
		{"gat 0 big\r\n", "VALUE big 0 " + fmt.Sprint(len(big)) + "\r\n" + big + "\r\nEND\r\n"},
		{"mg big v s k\r\nmn\r\n", "VA " + fmt.Sprint(len(big)) + " s" + fmt.Sprint(len(big)) + " kbig\r\n" + big + "\r\nMN\r\n"},
	}
	for _, tc := range cases {
		r.conn.Feed([]byte(tc.req))
		if !r.conn.streaming() {
			t.Fatalf("%q: big value not sent from its item", tc.req)
		}
		var got []byte
		fromItem := false
		for o := r.conn.Output(); len(o) > 0; o = r.conn.Output() {
			if len(o) == len(big) && &o[0] == &r.conn.st.pin.Value[0] {
				fromItem = true
			}
			got = append(got, o...)
			r.conn.Sent(len(o))
		}
		if string(got) != tc.want {
			t.Fatalf("%q: answer differs (%d bytes, want %d)", tc.req, len(got), len(tc.want))
		}
		if !fromItem {
			t.Fatalf("%q: the value was not the item's memory", tc.req)
		}
		checkNoPins(t, r)
	}
}

// TestValueDeletedWhileSentArrivesIntact: while a value goes out a little
// at a time, another client deletes it, overwrites its key and fills the
// cache with values of its size; the reader still gets the value it
// asked for, whole, and the item is freed once it has gone out.
func TestValueDeletedWhileSentArrivesIntact(t *testing.T) {
	r := newRig(t, Settings{})
	r.cache = newCache(t, func(cfg *memcache.Config) { cfg.MaxBytes = 8 << 20 })
	r.conn = New(r.cache, r.host, r.shared, Settings{})
	other := New(r.cache, r.host, r.shared, Settings{})
	val := strings.Repeat("0123456789", 10<<10) // 100 KB
	r.setValue(t, "big", val)
	r.conn.Feed([]byte("get big\r\n"))
	var got []byte
	step := 0
	for o := r.conn.Output(); len(o) > 0; o = r.conn.Output() {
		n := min(len(o), 4096)
		got = append(got, o[:n]...)
		r.conn.Sent(n)
		var w strings.Builder
		switch step {
		case 1:
			w.WriteString("delete big\r\n")
		case 2:
			nv := strings.Repeat("X", len(val))
			fmt.Fprintf(&w, "set big 0 0 %d\r\n%s\r\n", len(nv), nv)
		default:
			// 2 MB of values of the same class each step: any free
			// chunk of it would be reused.
			for i := range 20 {
				nv := strings.Repeat(string(rune('a'+step%26)), len(val))
				fmt.Fprintf(&w, "set fill%d_%d 0 0 %d noreply\r\n%s\r\n", step, i, len(nv), nv)
			}
		}
		other.Feed([]byte(w.String()))
		drain(other)
		step++
	}
	want := "VALUE big 0 " + fmt.Sprint(len(val)) + "\r\n" + val + "\r\nEND\r\n"
	if string(got) != want {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("answer differs at byte %d of %d (got %d bytes)", i, len(want), len(got))
	}
	if step < 20 {
		t.Fatalf("value went out in %d steps; the test needs many", step)
	}
	checkNoPins(t, r)
	if s := r.cache.Stats(); s.Evictions == 0 {
		t.Fatal("the fill evicted nothing: the test did not pressure the cache")
	}
}

// TestPinReleasedWhenClosedMidReply: a client gone part way through a
// multi-get of large values holds no pin after Close, and neither does a
// reply dropped by a bad get line.
func TestPinReleasedWhenClosedMidReply(t *testing.T) {
	r := newRig(t, Settings{})
	val := strings.Repeat("v", 100<<10)
	var keys []string
	for i := range 20 {
		k := fmt.Sprintf("k%d", i)
		r.setValue(t, k, val)
		keys = append(keys, k)
	}
	more := r.conn.Feed([]byte("get " + strings.Join(keys, " ") + "\r\n"))
	if !more || r.cache.PinsHeld() != 1 {
		t.Fatalf("more %v, pins %d: want a suspended get holding one pin", more, r.cache.PinsHeld())
	}
	o := r.conn.Output()
	r.conn.Sent(len(o)) // the VALUE line
	o = r.conn.Output()
	r.conn.Sent(len(o) / 2) // half the value
	r.conn.Close()
	checkNoPins(t, r)

	// A bad key later in a pipeline drops the replies memcached still has
	// queued, a streamed one included (one under maxPendingOutput, so
	// that Process does not stop in between).
	r2 := newRig(t, Settings{})
	r2.setValue(t, "big", strings.Repeat("v", 20<<10))
	got := r2.run("mg big v\r\nget big "+strings.Repeat("x", 251)+"\r\n", 0)
	if got != "CLIENT_ERROR bad command line format\r\n" {
		t.Fatalf("got %.80q", got)
	}
	checkNoPins(t, r2)
}

// TestOneStreamPerConnection: pipelined requests for large values are all
// answered, in order, while the connection never holds more than one pin
// and never more than maxPendingOutput plus one value.
func TestOneStreamPerConnection(t *testing.T) {
	r := newRig(t, Settings{})
	vals := []string{strings.Repeat("a", 20<<10), strings.Repeat("b", 17<<10), strings.Repeat("c", 300<<10)}
	var want bytes.Buffer
	var req strings.Builder
	for i, v := range vals {
		r.setValue(t, fmt.Sprint("k", i), v)
	}
	for range 10 {
		for i, v := range vals {
			fmt.Fprintf(&req, "mg k%d v\r\n", i)
			fmt.Fprintf(&want, "VA %d\r\n%s\r\n", len(v), v)
		}
		req.WriteString("get k0 k1 k2\r\n")
		for i, v := range vals {
			fmt.Fprintf(&want, "VALUE k%d 0 %d\r\n%s\r\n", i, len(v), v)
		}
		want.WriteString("END\r\n")
	}
	more := r.conn.Feed([]byte(req.String()))
	var got []byte
	for {
		if p := r.cache.PinsHeld(); p > 1 {
			t.Fatalf("%d pins held by one connection", p)
		}
		if n := r.conn.pending(); n > maxPendingOutput+300<<10+100 {
			t.Fatalf("%d bytes pending", n)
		}
		got = append(got, drain(r.conn)...)
		if !more {
			break
		}
		more = r.conn.Process()
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("answer differs (%d bytes, want %d)", len(got), want.Len())
	}
	checkNoPins(t, r)
}

// TestLargeBinaryValueSentFromItem: binary get and getk send a large
// value from its item too, in memcached's packet.
func TestLargeBinaryValueSentFromItem(t *testing.T) {
	r := newRig(t, Settings{})
	val := strings.Repeat("b", 50<<10)
	set := protocol.AppendBinStore(nil, protocol.OpSet, 1, 0, 7, 0, []byte("big"), []byte(val))
	r.run(string(set), 0)
	var req, want []byte
	var flags [4]byte
	flags[3] = 7
	for i, op := range []uint8{protocol.OpGet, protocol.OpGetK} {
		req = protocol.AppendBinRequest(req, op, uint32(10+i), 0, nil, []byte("big"), nil)
		var key []byte
		if op == protocol.OpGetK {
			key = []byte("big")
		}
		want = protocol.AppendBinResponse(want, op, protocol.StatusOK, uint32(10+i), 1, flags[:], key, []byte(val))
	}
	r.conn.Feed(req)
	if !r.conn.streaming() {
		t.Fatal("binary get did not send from the item")
	}
	more := true
	var got []byte
	for more {
		got = append(got, drain(r.conn)...)
		more = r.conn.Process()
	}
	got = append(got, drain(r.conn)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("answer differs (%d bytes, want %d)", len(got), len(want))
	}
	checkNoPins(t, r)
}
