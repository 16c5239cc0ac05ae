package cacheagent

import (
	"fmt"
	"testing"
	"time"

	"github.com/securecached/securecached/memcache"
)

// warm looks at no more keys than the engine warms, and keeps no slice of
// the records once it returns: they point into a message that is about to
// be recycled.
func TestWarmKeepsNoRecords(t *testing.T) {
	eng, err := memcache.New(memcache.DefaultConfig(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{engine: eng}
	var records [][]byte
	for i := range 3 * memcache.MaxWarm {
		records = append(records, []byte(fmt.Sprintf("get k%d k%d-2\r\n", i, i)))
	}
	records = append(records, []byte("set x 0 0 1\r\nv\r\n"), []byte{0x80, 0, 0xff}, nil)
	for range 2 {
		a.warm(records)
		if len(a.warmKeys) != 0 {
			t.Fatalf("warmKeys = %q after warm, want empty", a.warmKeys)
		}
		if c := cap(a.warmKeys); c > 0 {
			for i, k := range a.warmKeys[:c] {
				if k != nil {
					t.Fatalf("warmKeys[%d] still holds %q", i, k)
				}
			}
			if c > 2*memcache.MaxWarm {
				t.Fatalf("warmKeys grew to %d, want at most about %d", c, memcache.MaxWarm)
			}
		}
	}
}
