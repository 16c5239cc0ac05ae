package gateway

import "testing"

// A -c slot is given back once however often its client's paths release
// it: a second release must not free a slot another client holds.
func TestSlotReleasesOnce(t *testing.T) {
	gr := &group{slots: make(chan struct{}, 2), done: make(chan struct{})}
	a, b := gr.take(), gr.tryTake()
	if a == nil || b == nil {
		t.Fatal("two slots of -c 2 not free")
	}
	if gr.tryTake() != nil {
		t.Fatal("a third slot of -c 2")
	}
	a.release()
	a.release()
	c := gr.tryTake()
	if c == nil {
		t.Fatal("a released slot was not free again")
	}
	if gr.tryTake() != nil {
		t.Fatal("releasing a slot twice freed a slot another client holds")
	}
	b.release()
	c.release()
	if n := len(gr.slots); n != 0 {
		t.Fatalf("%d slots held after every client released its own", n)
	}
	gr.take()
	gr.take()
	close(gr.done)
	if gr.take() != nil {
		t.Fatal("take returned a slot beyond -c once the group closed")
	}
}
