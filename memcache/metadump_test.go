package memcache

import (
	"fmt"
	"testing"
)

// TestFetchHookStatuses: every lookup reports what it found, with
// memcached's four outcomes; WatchInfo's own lookups report nothing.
func TestFetchHookStatuses(t *testing.T) {
	c := newTestCache(t, nil)
	var got []string
	c.SetFetchHook(func(key []byte, st FetchStatus, class, size int) {
		got = append(got, fmt.Sprintf("%s %s %d %d", key, st, class, size))
	})
	c.Store(ModeSet, []byte("a"), 0, 2, []byte("xyz"), StoreOptions{}) // a set looks the key up first
	c.Get([]byte("a"))
	c.WatchInfo([]byte("a"))
	c.now += 3 // past a's TTL; not Tick, whose crawl would reclaim a first
	c.Get([]byte("a"))
	c.Store(ModeSet, []byte("b"), 0, 0, []byte("v"), StoreOptions{})
	c.FlushAll(0)
	c.now++
	c.Get([]byte("b"))
	want := []string{"a not_found 0 0", "a found 1 3", "a expired 0 0", "b not_found 0 0", "b flushed 0 0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lookups reported %q, want %q", got, want)
	}
}

func TestAppendURIEncoded(t *testing.T) {
	if got := string(AppendURIEncoded(nil, []byte("a-Z_9.~ %/\xff"))); got != "a-Z_9.~%20%25%2F%FF" {
		t.Errorf("got %q", got)
	}
}
