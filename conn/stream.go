package conn

import "github.com/securecached/securecached/memcache"

// Large values go to the client from their item, not from a copy: the
// reply pins the item (memcache.Pin, memcached's refcount) and Output
// hands the host the item's bytes, a window's worth at a time as the host
// takes them, so a multi-get of large values costs the connection no
// buffer of the values' size, only the item pin. Smaller values are copied
// into out, which is cheaper than a pin and keeps a multi-get of many
// small values in one write (bench/RESULTS.md, "values sent from their
// pinned items").
//
// Invariants, enforced here:
//
//   - A connection holds at most one pin: the value being sent from its
//     item (fromItem). A second large value that comes before the first
//     has gone is copied, as every value was before. The value sent from
//     its item counts in full toward maxPendingOutput, so a multi-get
//     stops after a value of 64 KB or more until it has gone; only values
//     between 16 and 64 KB can follow one and be copied.
//   - The value belongs at offset st.at of out: Output yields out up to
//     st.at, then the value, then the rest of out; Sent walks the same
//     order.
//   - The pin is released exactly once: when Sent passes the value's end,
//     when discardQueued drops the reply it belongs to, or when Close
//     ends the connection part way. Each of those runs where the engine
//     may be called (see Sent).

// sendFromItemMin is the smallest value sent from its pinned item; smaller
// ones are copied into the output buffer, where a pin costs more than the
// copy saves (measured in bench/RESULTS.md). A variable only so that
// BenchmarkSendFromItem can compare both paths at every size.
var sendFromItemMin = 16 << 10

// stream is the value being sent from its item.
type stream struct {
	pin memcache.Pin // held while the value is unsent
	at  int          // offset in out where the value goes
	off int          // pin.Value[off:] is still to send
}

// streaming reports whether a value waits to be sent from its item.
func (c *Conn) streaming() bool { return c.st.pin.Held() }

// fromItem reports whether v's value would be sent from its item: it is
// large enough and the connection holds no other pin. Replies test it
// first, so that small values keep their one-append path.
func (c *Conn) fromItem(v *memcache.View) bool {
	return len(v.Value) >= sendFromItemMin && !c.streaming()
}

// appendValue puts v's value at the end of out: as a pinned item to send
// from, when fromItem, or as a copy.
func (c *Conn) appendValue(v *memcache.View) {
	if c.fromItem(v) {
		if p, ok := c.cache.Pin(*v); ok {
			c.st = stream{pin: p, at: len(c.out)}
			return
		}
	}
	c.out = append(c.out, v.Value...)
}

// endStream releases the pin of the value being streamed.
func (c *Conn) endStream() {
	if c.streaming() {
		c.cache.Unpin(&c.st.pin)
	}
	c.st = stream{}
}

// pending is the number of reply bytes not yet sent.
func (c *Conn) pending() int {
	n := len(c.out) - c.sent
	if c.streaming() {
		n += len(c.st.pin.Value) - c.st.off
	}
	return n
}
