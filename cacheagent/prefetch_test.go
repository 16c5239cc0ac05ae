package cacheagent

import (
	"fmt"
	"testing"
	"time"

	"github.com/securecached/securecached/memcache"
)

// prefetch looks at no more keys than the engine prefetches, and keeps no
// slice of the records once it returns: they point into a message that is
// about to be recycled.
func TestPrefetchKeepsNoRecords(t *testing.T) {
	eng, err := memcache.New(memcache.DefaultConfig(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{engine: eng}
	var records [][]byte
	for i := range 3 * memcache.MaxPrefetch {
		records = append(records, []byte(fmt.Sprintf("get k%d k%d-2\r\n", i, i)))
	}
	records = append(records, []byte("set x 0 0 1\r\nv\r\n"), []byte{0x80, 0, 0xff}, nil)
	for range 2 {
		a.prefetch(records)
		if len(a.prefetchKeys) != 0 {
			t.Fatalf("prefetchKeys = %q after prefetch, want empty", a.prefetchKeys)
		}
		if c := cap(a.prefetchKeys); c > 0 {
			for i, k := range a.prefetchKeys[:c] {
				if k != nil {
					t.Fatalf("prefetchKeys[%d] still holds %q", i, k)
				}
			}
			if c > 2*memcache.MaxPrefetch {
				t.Fatalf("prefetchKeys grew to %d, want at most about %d", c, memcache.MaxPrefetch)
			}
		}
	}
}
