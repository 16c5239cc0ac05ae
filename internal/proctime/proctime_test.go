package proctime

import "testing"

// Burning CPU must show up in the process's CPU time, and neither part may
// run backwards.
func TestTimesGrowWithWork(t *testing.T) {
	user0, sys0, err := Times()
	if err != nil {
		t.Fatal(err)
	}
	total0, err := Total()
	if err != nil {
		t.Fatal(err)
	}
	x := uint64(1)
	for { // 20 ms of CPU
		total, err := Total()
		if err != nil {
			t.Fatal(err)
		}
		if total-total0 >= 20e6 {
			break
		}
		for i := 0; i < 1e5; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	user1, sys1, err := Times()
	if err != nil {
		t.Fatal(err)
	}
	if user1 < user0 || sys1 < sys0 {
		t.Fatalf("CPU time ran backwards: user %v -> %v, system %v -> %v", user0, user1, sys0, sys1)
	}
	if user1+sys1-user0-sys0 < 20e6 {
		t.Fatalf("20 ms of work added only %v", user1+sys1-user0-sys0)
	}
	t.Logf("user %v, system %v (x=%d)", user1, sys1, x)
}
