package proctime

import (
	"runtime"
	"testing"
	"time"
)

// Burning CPU must show up in the process's CPU time, in the right unit:
// more than nothing, no more than the wall time the work took on every
// processor, and neither part may run backwards. (A Times that returned
// constants, or Windows' 100 ns intervals misread, would fail.)
func TestTimesGrowWithWork(t *testing.T) {
	user0, sys0, err := Times()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	x := uint64(1)
	for time.Since(start) < 50*time.Millisecond {
		for i := 0; i < 1e5; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	user1, sys1, err := Times()
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if user1 < user0 || sys1 < sys0 {
		t.Fatalf("CPU time ran backwards: user %v -> %v, system %v -> %v", user0, user1, sys0, sys1)
	}
	used := user1 + sys1 - user0 - sys0
	if used <= 0 {
		t.Fatalf("%v of busy work added no CPU time (user %v, system %v)", wall, user1, sys1)
	}
	// The runtime's own threads may run beside the loop; a clock tick of
	// slack covers getrusage's granularity.
	if limit := wall*time.Duration(runtime.NumCPU()) + 10*time.Millisecond; used > limit {
		t.Fatalf("%v of work on %d processors added %v of CPU time, more than %v", wall, runtime.NumCPU(), used, limit)
	}
	total, err := Total()
	if err != nil {
		t.Fatal(err)
	}
	if total < user1+sys1 {
		t.Fatalf("Total %v is below user+system %v read before it", total, user1+sys1)
	}
	t.Logf("%v of work: %v of CPU (x=%d)", wall, used, x)
}
