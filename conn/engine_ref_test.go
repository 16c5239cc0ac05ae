package conn

import "testing"

// TestEngineFamiliesMatchMemcached compares "stats slabs", which depends on
// the engine's slab layout, with memcached's after a few stores. ("stats
// items" is left out: memcached's background LRU maintainer moves items
// between HOT and COLD on its own schedule.)
func TestEngineFamiliesMatchMemcached(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memcached")
	}
	for _, in := range []string{
		"set a 0 0 1\r\nx\r\nstats slabs\r\n",
		"set a 0 0 1\r\nx\r\nset b 0 0 1000\r\n" + string(make([]byte, 1000)) + "\r\nget a\r\ndelete b\r\nstats slabs\r\n",
	} {
		ref, _ := refRun(t, refServer(t), in)
		got := newRig(t, Settings{}).run(in, 0)
		if got != ref {
			t.Errorf("%q:\nours      %q\nmemcached %q", in, got, ref)
		}
	}
}
