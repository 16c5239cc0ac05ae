package diggi

import (
	"testing"
	"time"
)

// A signal reaches a waiter whether it is still spinning or already
// blocked on its channel, and the waiter can be reused afterwards.
func TestWaiterSignal(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration // before the signal; > spinFor means the waiter sleeps
		value bool
	}{
		{"while spinning", 0, true},
		{"while spinning, exit", 0, false},
		{"after sleeping", 20 * spinFor, true},
		{"after sleeping, exit", 20 * spinFor, false},
	}
	w := newWaiter()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan bool, 1)
			go func() { got <- w.wait() }()
			time.Sleep(tc.delay)
			w.signal(tc.value)
			select {
			case v := <-got:
				if v != tc.value {
					t.Fatalf("wait = %v, want %v", v, tc.value)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("waiter never woke")
			}
			if s := w.state.Load(); s != waitIdle {
				t.Fatalf("state after wait = %d, want idle", s)
			}
		})
	}
}
