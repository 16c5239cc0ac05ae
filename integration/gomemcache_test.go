package integration

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/securecached/securecached/internal/testenv"
)

// TestGomemcache drives every call of github.com/bradfitz/gomemcache, a
// widely used third-party client, and checks the results and error values
// it derives from the server's answers.
func TestGomemcache(t *testing.T) {
	bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
		mc := memcache.New(s.Addr)
		mc.Timeout = 5 * time.Second
		defer mc.Close()

		must := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		wantErr := func(what string, err, want error) {
			t.Helper()
			if !errors.Is(err, want) {
				t.Fatalf("%s: err = %v, want %v", what, err, want)
			}
		}

		must("Ping", mc.Ping())
		_, err := mc.Get("nope")
		wantErr("Get missing", err, memcache.ErrCacheMiss)

		must("Set", mc.Set(&memcache.Item{Key: "k", Value: []byte("v1"), Flags: 42}))
		it, err := mc.Get("k")
		must("Get", err)
		if string(it.Value) != "v1" || it.Flags != 42 {
			t.Fatalf("Get = %q flags %d", it.Value, it.Flags)
		}

		wantErr("Add existing", mc.Add(&memcache.Item{Key: "k", Value: []byte("x")}), memcache.ErrNotStored)
		must("Add", mc.Add(&memcache.Item{Key: "a", Value: []byte("1")}))
		wantErr("Replace missing", mc.Replace(&memcache.Item{Key: "none", Value: []byte("x")}), memcache.ErrNotStored)
		must("Replace", mc.Replace(&memcache.Item{Key: "a", Value: []byte("2")}))
		must("Append", mc.Append(&memcache.Item{Key: "a", Value: []byte("3")}))
		must("Prepend", mc.Prepend(&memcache.Item{Key: "a", Value: []byte("1")}))
		wantErr("Append missing", mc.Append(&memcache.Item{Key: "none", Value: []byte("x")}), memcache.ErrNotStored)
		if it, err := mc.Get("a"); err != nil || string(it.Value) != "123" {
			t.Fatalf("after append/prepend: %v %v", it, err)
		}

		// CompareAndSwap: win once, then lose with the stale item.
		it, err = mc.Get("k")
		must("Get for CAS", err)
		it.Value = []byte("v2")
		must("CompareAndSwap", mc.CompareAndSwap(it))
		it.Value = []byte("v3")
		wantErr("CompareAndSwap stale", mc.CompareAndSwap(it), memcache.ErrCASConflict)
		must("Delete for CAS", mc.Delete("a"))
		wantErr("CompareAndSwap deleted", mc.CompareAndSwap(&memcache.Item{Key: "a", Value: []byte("x")}), memcache.ErrCacheMiss)

		keys := []string{"k", "m1", "m2", "missing"}
		must("Set m1", mc.Set(&memcache.Item{Key: "m1", Value: []byte("one")}))
		must("Set m2", mc.Set(&memcache.Item{Key: "m2", Value: []byte(strings.Repeat("z", 100000))}))
		got, err := mc.GetMulti(keys)
		must("GetMulti", err)
		if len(got) != 3 || string(got["k"].Value) != "v2" || string(got["m1"].Value) != "one" || len(got["m2"].Value) != 100000 {
			t.Fatalf("GetMulti = %v", got)
		}

		must("Set counter", mc.Set(&memcache.Item{Key: "n", Value: []byte("10")}))
		if v, err := mc.Increment("n", 5); err != nil || v != 15 {
			t.Fatalf("Increment = %d, %v", v, err)
		}
		if v, err := mc.Decrement("n", 100); err != nil || v != 0 {
			t.Fatalf("Decrement below zero = %d, %v", v, err)
		}
		_, err = mc.Increment("nocounter", 1)
		wantErr("Increment missing", err, memcache.ErrCacheMiss)
		if _, err := mc.Increment("k", 1); err == nil || !strings.Contains(err.Error(), "non-numeric") {
			t.Fatalf("Increment non-numeric: %v", err)
		}

		must("Touch", mc.Touch("k", 100))
		wantErr("Touch missing", mc.Touch("missing", 100), memcache.ErrCacheMiss)
		it, err = mc.GetAndTouch("k", 100)
		must("GetAndTouch", err)
		if string(it.Value) != "v2" {
			t.Fatalf("GetAndTouch = %q", it.Value)
		}
		_, err = mc.GetAndTouch("missing", 1)
		wantErr("GetAndTouch missing", err, memcache.ErrCacheMiss)

		must("Delete", mc.Delete("k"))
		wantErr("Delete missing", mc.Delete("k"), memcache.ErrCacheMiss)

		wantErr("Set bad key", mc.Set(&memcache.Item{Key: "bad key", Value: []byte("x")}), memcache.ErrMalformedKey)
		wantErr("Set long key", mc.Set(&memcache.Item{Key: strings.Repeat("k", 251), Value: []byte("x")}), memcache.ErrMalformedKey)
		if err := mc.Set(&memcache.Item{Key: "huge", Value: make([]byte, 2<<20)}); err == nil {
			t.Fatal("Set of a 2 MB value succeeded with -I 1m")
		}

		// Expiration: a 1-second TTL is gone after memcached's clock moves
		// twice (it ticks once a second).
		must("Set ttl", mc.Set(&memcache.Item{Key: "ttl", Value: []byte("x"), Expiration: 1}))
		time.Sleep(2100 * time.Millisecond)
		_, err = mc.Get("ttl")
		wantErr("Get expired", err, memcache.ErrCacheMiss)

		must("Set before flush", mc.Set(&memcache.Item{Key: "f", Value: []byte("x")}))
		must("FlushAll", mc.FlushAll())
		_, err = mc.Get("f")
		wantErr("Get after FlushAll", err, memcache.ErrCacheMiss)
		must("Set before DeleteAll", mc.Set(&memcache.Item{Key: "f", Value: []byte("x")}))
		must("DeleteAll", mc.DeleteAll())
		_, err = mc.Get("f")
		wantErr("Get after DeleteAll", err, memcache.ErrCacheMiss)
	})
}
