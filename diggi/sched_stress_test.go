package diggi

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSchedulerExclusiveStress(t *testing.T) {
	s := NewScheduler("stress", nil)
	var inside atomic.Int32
	var overlaps atomic.Int32
	var wg sync.WaitGroup
	enter := func() {
		if inside.Add(1) != 1 {
			overlaps.Add(1)
		}
	}
	leave := func() { inside.Add(-1) }
	ch := make(chan struct{}, 1000)
	for i := 0; i < 2000; i++ {
		wg.Add(1)
		i := i
		_ = s.Schedule(func() {
			defer wg.Done()
			enter()
			if i%3 == 0 {
				leave()
				s.Block(func() {
					select {
					case <-ch:
					case <-time.After(time.Millisecond):
					}
				})
				enter()
			}
			if i%5 == 0 {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
			leave()
		})
	}
	wg.Wait()
	s.Close()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d overlapping tasks", n)
	}
}
