package posix

import (
	"bytes"
	"testing"

	"github.com/securecached/securecached/diggi"

	"github.com/securecached/securecached/internal/testenv"
)

// keptSegment is a message as a lone large segment arrives in, its
// payload filled from next on.
func keptSegment(size int, next *byte) (*diggi.Message, []byte) {
	m := diggi.NewMessage(size)
	for i := range m.Payload() {
		m.Payload()[i] = *next
		*next++
	}
	return m, m.Payload()
}

// Kept segments and copied ones are read in arrival order across partial
// reads, also when a segment is kept while copied bytes wait; each kept
// message is released exactly once, when its last byte is read.
func TestSocketKeptSegments(t *testing.T) {
	sk := &socket{rcvBuf: DefaultRecvBuffer}
	var sent, got []byte
	var kept []*diggi.Message
	next := byte(0)
	arrive := func(size int) {
		m, data := keptSegment(size, &next)
		sent = append(sent, data...)
		if canKeep(size) {
			sk.keep(m, data)
			kept = append(kept, m)
			return
		}
		sk.enqueue(data)
		diggi.Release(m)
	}
	read := func(n int) {
		buf := make([]byte, n)
		got = append(got, buf[:sk.take(buf)]...)
	}
	arrive(maxChunk) // kept
	arrive(100)      // copied, behind it
	if len(kept) != 1 {
		t.Fatalf("kept %d segments, want 1", len(kept))
	}
	arrive(maxChunk) // kept behind the copied bytes
	arrive(200)      // copied, behind that
	if len(kept) != 2 {
		t.Fatalf("kept %d segments, want 2", len(kept))
	}
	read(maxChunk - 10) // most of the first kept segment: not released yet
	read(50)            // its last 10 bytes and 40 copied ones
	testenv.MustPanic(t, "second Release of a read kept segment", func() { diggi.Release(kept[0]) })
	read(1 << 20) // all drained
	if sk.rqLen != 0 || len(sk.kept) != 0 {
		t.Fatalf("after draining: rqLen %d, %d kept", sk.rqLen, len(sk.kept))
	}
	for range 3 {
		arrive(maxBatched + 1)
	}
	if len(kept) != 5 {
		t.Fatalf("kept %d segments, want 5", len(kept))
	}
	for sk.rqLen > 0 {
		read(7000)
	}
	if !bytes.Equal(got, sent) {
		t.Fatalf("read %d bytes that differ from the %d that arrived", len(got), len(sent))
	}
	for _, m := range kept {
		testenv.MustPanic(t, "second Release", func() { diggi.Release(m) })
	}
}

// Input dropped unread (close, SHUT_RD) releases the kept messages once.
func TestSocketKeptSegmentsDropped(t *testing.T) {
	sk := &socket{rcvBuf: DefaultRecvBuffer}
	next := byte(0)
	var kept []*diggi.Message
	for range 3 {
		m, data := keptSegment(maxChunk, &next)
		sk.keep(m, data)
		kept = append(kept, m)
	}
	buf := make([]byte, 100)
	sk.take(buf) // the first one partly read
	sk.dropRecv()
	if sk.rqLen != 0 || len(sk.kept) != 0 {
		t.Fatalf("after drop: rqLen %d, %d kept", sk.rqLen, len(sk.kept))
	}
	for _, m := range kept {
		testenv.MustPanic(t, "Release after the drop released it", func() { diggi.Release(m) })
	}
	sk.dropRecv() // nothing left to release twice
}
