package gateway

import (
	"testing"

	"github.com/securecached/securecached/diggi/posix"
)

// A -c slot is given back once however often its client's paths release
// it: a second release must not free a slot another client holds.
func TestSlotReleasesOnce(t *testing.T) {
	done := make(chan struct{})
	ss := &slots{tokens: make(chan struct{}, 2), done: done}
	a, b := ss.take(), ss.tryTake()
	if a == nil || b == nil {
		t.Fatal("two slots of -c 2 not free")
	}
	if ss.tryTake() != nil {
		t.Fatal("a third slot of -c 2")
	}
	a.release()
	a.release()
	c := ss.tryTake()
	if c == nil {
		t.Fatal("a released slot was not free again")
	}
	if ss.tryTake() != nil {
		t.Fatal("releasing a slot twice freed a slot another client holds")
	}
	b.release()
	c.release()
	if n := len(ss.tokens); n != 0 {
		t.Fatalf("%d slots held after every client released its own", n)
	}
	ss.take()
	ss.take()
	close(done)
	if ss.take() != nil {
		t.Fatal("take returned a slot beyond -c once the listeners closed")
	}
}

// A client handed to a group member keeps its descriptor and origin; a
// message cut short is refused, not misread.
func TestClientMessage(t *testing.T) {
	o := posix.Origin{Peer: "tcp:127.0.0.1:5000", Local: "tcp:127.0.0.1:11211"}
	msg := appendClient(nil, 42, o)
	fd, got, ok := parseClient(msg)
	if !ok || fd != 42 || got != o {
		t.Fatalf("parseClient = %d, %+v, %v; want 42, %+v", fd, got, ok, o)
	}
	for n := range len(msg) {
		if _, _, ok := parseClient(msg[:n]); ok {
			t.Fatalf("a message cut to %d of %d bytes parsed", n, len(msg))
		}
	}
	if _, _, ok := parseClient(append(msg, 'x')); ok {
		t.Fatal("a message with trailing bytes parsed")
	}
}
