package gateway

import "testing"

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
