package memcache_test

import (
	"fmt"
	"time"

	"github.com/securecached/securecached/memcache"
)

func Example() {
	start := time.Unix(1_700_000_000, 0)
	c, err := memcache.New(memcache.DefaultConfig(), start)
	if err != nil {
		panic(err)
	}
	res, _, _ := c.Store(memcache.ModeSet, []byte("greeting"), 42, 10, []byte("hello"), memcache.StoreOptions{})
	fmt.Println(res)

	// A View aliases slab memory: copy what you need before the next call.
	if v, ok := c.Get([]byte("greeting")); ok {
		fmt.Printf("VALUE %s %d %d\n%s\n", v.Key, v.Flags, len(v.Value), v.Value)
	}

	c.Tick(start.Add(11 * time.Second)) // the host's clock message
	_, ok := c.Get([]byte("greeting"))
	fmt.Println("after 11 s:", ok)
	// Output:
	// Stored
	// VALUE greeting 42 5
	// hello
	// after 11 s: false
}

func ExampleCache_Reserve() {
	c, _ := memcache.New(memcache.DefaultConfig(), time.Unix(1_700_000_000, 0))
	// "set k 0 0 5": reserve the chunk, read the value straight into it,
	// then commit once the trailing "\r\n" checked out (or Abort).
	r, res, err := c.Reserve(memcache.ModeSet, []byte("k"), 0, 0, 5, memcache.StoreOptions{})
	if err != nil || res != memcache.Stored {
		fmt.Println("cannot store:", res, err) // TooLarge or NoMemory: swallow the data
		return
	}
	copy(r.Value, "abcde") // in a server: conn.Read(r.Value) as bytes arrive
	res, cas, _ := c.Commit(&r)
	fmt.Println(res, cas)

	n, res := c.Incr([]byte("k"), 1)
	fmt.Println(n, res)
	// Output:
	// Stored 1
	// 0 NonNumeric
}

func ExampleCache_MetaGet() {
	c, _ := memcache.New(memcache.DefaultConfig(), time.Unix(1_700_000_000, 0))
	// "mg foo N30 v": the first client to miss wins the right to recache.
	v, _ := c.MetaGet([]byte("foo"), memcache.MetaGetOptions{Vivify: true, VivifyTTL: 30})
	fmt.Println("W:", v.Won, "Z:", v.TokenSent, "ttl:", v.TTL)
	v, _ = c.MetaGet([]byte("foo"), memcache.MetaGetOptions{Vivify: true, VivifyTTL: 30})
	fmt.Println("W:", v.Won, "Z:", v.TokenSent)
	// Output:
	// W: true Z: false ttl: 30
	// W: false Z: true
}
