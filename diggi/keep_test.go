package diggi

import (
	"bytes"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// A handler that keeps a message owns its payload past the call: later
// deliveries do not reuse the buffer, the keeper releases it exactly once,
// and every misuse of the ownership rules panics instead of handing one
// buffer to two owners.
func TestKeepOwnership(t *testing.T) {
	const n, size = 40, 40 << 10
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }
	var kept []*Message
	done := make(chan struct{})
	got := 0
	recv := &hookAgent{receive: func(ctx *Context, m *Message) {
		mm := ctx.Messages()
		if m.Payload()[0]%2 == 0 {
			k := mm.Keep(m)
			testenv.MustPanic(t, "second Keep", func() { mm.Keep(m) })
			if len(m.Payload()) != 0 {
				t.Errorf("kept message left %d payload bytes in the lent one", len(m.Payload()))
			}
			kept = append(kept, k)
		}
		if got++; got == n {
			close(done)
		}
	}}
	send := &hookAgent{}
	in := testInstance(t, InstanceOptions{}, []string{"recv", "send"}, recv, send)
	inAgent(t, in, "send", func(ctx *Context) {
		dst, _ := ctx.Directory().Lookup("recv")
		for i := range n {
			if err := ctx.Messages().Send(dst.ID, payload(i)); err != nil {
				t.Fatal(err)
			}
		}
	})
	waitFor(t, done, 10*time.Second, "all messages")
	inAgent(t, in, "recv", func(ctx *Context) {
		if len(kept) != n/2 {
			t.Fatalf("kept %d messages, want %d", len(kept), n/2)
		}
		for i, k := range kept {
			if !bytes.Equal(k.Payload(), payload(2*i)) {
				t.Fatalf("kept message %d changed after its handler returned", i)
			}
			testenv.MustPanic(t, "Keep outside the handler", func() { ctx.Messages().Keep(k) })
			Release(k)
			testenv.MustPanic(t, "second Release", func() { Release(k) })
		}
	})
}

// A kept message's buffer goes back to its size class's pool when the
// keeper releases it. Pools may drop what is put (always under -race,
// sometimes), so the test tries many times and needs one reuse.
func TestKeptBufferReturnsToPool(t *testing.T) {
	mm := &Manager{}
	for range 50 {
		m := NewMessage(40 << 10)
		buf := &m.buf[:1][0]
		mm.lent = append(mm.lent, m) // as dispatch lends it
		k := mm.Keep(m)
		mm.unlend(m)
		if len(mm.lent) != 0 {
			t.Fatal("the loan did not end")
		}
		Release(m) // the husk, as dispatch does
		Release(k)
		var again []*Message
		found := false
		for range 4 {
			a := NewMessage(40 << 10)
			again = append(again, a)
			found = found || &a.buf[:1][0] == buf
		}
		for _, a := range again {
			Release(a)
		}
		if found {
			return
		}
	}
	t.Fatal("a released kept buffer never came back from the pool")
}
