package diggi

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Agent code never runs on two goroutines at once. The state below is
// touched without locks by tasks (some of which block and resume on other
// goroutines) and by foreign goroutines through Run; the race detector
// fails the test if any two of those accesses are unordered, and the
// atomic "inside" counter catches overlap even without -race.
func TestSchedulerOneThreadPerAgent(t *testing.T) {
	s := NewScheduler("exclusive", quietLog())
	defer s.Close()
	var inside atomic.Int32
	overlap := false
	counter := 0 // plain agent state
	enter := func() {
		if inside.Add(1) != 1 {
			overlap = true
		}
		counter++
	}
	leave := func() { inside.Add(-1) }
	wake := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := 0; i < 2000; i++ {
		wg.Add(1)
		i := i
		if err := s.Schedule(func() {
			defer wg.Done()
			enter()
			if i%3 == 0 {
				leave()
				s.Block(func() {
					select {
					case <-wake:
					case <-time.After(time.Millisecond):
					}
				})
				enter()
			}
			if i%5 == 0 {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
			leave()
		}); err != nil {
			t.Fatal(err)
		}
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 100; k++ {
				s.Run(func() { enter(); leave() })
			}
		}()
	}
	wg.Wait()
	s.Run(func() {
		if overlap {
			t.Error("two goroutines ran agent code at once")
		}
		if counter != 2000+2000/3+1+400 {
			t.Errorf("counter %d", counter)
		}
	})
}

func TestSchedulerFIFOAndBlockingLetsOthersRun(t *testing.T) {
	s := NewScheduler("fifo", quietLog())
	defer s.Close()
	var order []string
	release := make(chan struct{})
	done := make(chan struct{})
	// Both tasks are queued before either runs (under the baton), so "b"
	// is queued before anything "a" schedules.
	s.Run(func() {
		s.Schedule(func() {
			order = append(order, "a")
			// A task scheduled from a task starts only after this one blocks.
			s.Schedule(func() { order = append(order, "c"); close(release) })
			order = append(order, "a2")
			s.Block(func() { <-release })
			order = append(order, "a3")
			close(done)
		})
		s.Schedule(func() { order = append(order, "b") })
	})
	<-done
	s.Run(func() {
		if got := strings.Join(order, ","); got != "a,a2,b,c,a3" {
			t.Errorf("order %s", got)
		}
	})
}

func TestSchedulerYield(t *testing.T) {
	s := NewScheduler("yield", quietLog())
	defer s.Close()
	var order []string
	done := make(chan struct{})
	s.Schedule(func() {
		s.Schedule(func() { order = append(order, "queued") })
		order = append(order, "before")
		s.Yield()
		order = append(order, "after")
		close(done)
	})
	<-done
	s.Run(func() {
		if got := strings.Join(order, ","); got != "before,queued,after" {
			t.Errorf("order %s", got)
		}
	})
}

func TestSchedulerCloseEndsBlockedWaitsAndPanicsAreContained(t *testing.T) {
	s := NewScheduler("close", quietLog())
	ended := make(chan struct{})
	s.Schedule(func() { panic("task panic is logged, not fatal") })
	s.Schedule(func() {
		s.Block(func() { <-s.Done() })
		close(ended)
	})
	time.Sleep(10 * time.Millisecond)
	s.Close()
	select {
	case <-ended:
	default:
		t.Fatal("Close returned before the blocked task ended")
	}
	if err := s.Schedule(func() {}); err == nil {
		t.Error("schedule after Close succeeded")
	}
	if err := s.Run(func() {}); err == nil {
		t.Error("Run after Close succeeded")
	}
}
