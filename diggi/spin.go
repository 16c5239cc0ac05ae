package diggi

import (
	"runtime"
	"sync/atomic"
	"time"
)

// spinFor bounds how long a goroutine that expects work imminently (a
// worker that just finished a task, a Call waiting for its response, the
// mover after a round) keeps checking before it parks. Parking and being
// woken again costs an OS thread sleep and wake-up when the other core is
// idle, several microseconds each; a message round trip between agents is
// shorter than that. The spin yields the processor on every check, so it
// never delays a runnable goroutine, and it is bounded, so an idle agent
// still parks and uses no CPU.
const spinFor = 5 * time.Microsecond

// Waiter states: a waiter spins in waitIdle and may move to waitSleeping
// (blocked on its channel); a signal replaces waitIdle by the value it
// hands over, or sends on the channel if the waiter already sleeps.
const (
	waitIdle uint32 = iota
	waitSleeping
	waitTrue
	waitFalse
)

// waiter is a goroutine waiting until it is handed the baton (true) or
// told to exit (false). A signal to a waiter that is still spinning costs
// one atomic operation instead of a goroutine wake-up.
type waiter struct {
	wake  chan bool // capacity 1
	state atomic.Uint32
}

func newWaiter() *waiter { return &waiter{wake: make(chan bool, 1)} }

// signal hands v to the waiter. Each wait gets at most one signal.
func (w *waiter) signal(v bool) {
	val := waitFalse
	if v {
		val = waitTrue
	}
	if w.state.CompareAndSwap(waitIdle, val) {
		return
	}
	w.wake <- v
}

// spin waits up to spinFor for a signal and reports whether one came;
// the value is then taken with take.
func (w *waiter) spin() bool {
	return spinUntil(spinFor, func() bool { return w.state.Load() != waitIdle })
}

// spinUntil is the runtime's one spin loop: it calls ready, yielding the
// processor between calls, until ready reports true (spinUntil then
// reports true) or d has passed (false). Yielding on every call means it
// never delays a runnable goroutine; the bound means an idle agent still
// parks and uses no CPU.
func spinUntil(d time.Duration, ready func() bool) bool {
	var deadline time.Time
	for i := 0; ; i++ {
		if ready() {
			return true
		}
		if i%8 == 0 { // reading the clock costs as much as a check
			now := time.Now()
			if i == 0 {
				deadline = now.Add(d)
			} else if now.After(deadline) {
				return false
			}
		}
		runtime.Gosched()
	}
}

// sleep announces that the waiter blocks on its channel; false means a
// signal came first (take it with take).
func (w *waiter) sleep() bool { return w.state.CompareAndSwap(waitIdle, waitSleeping) }

// take returns a signal delivered while spinning and resets the waiter.
func (w *waiter) take() bool { return w.state.Swap(waitIdle) == waitTrue }

// woke resets the waiter after a value arrived on its channel.
func (w *waiter) woke() { w.state.Store(waitIdle) }

// wait spins, then blocks, until signalled.
func (w *waiter) wait() bool {
	if w.spin() || !w.sleep() {
		return w.take()
	}
	v := <-w.wake
	w.woke()
	return v
}
