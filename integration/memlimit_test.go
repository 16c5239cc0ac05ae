package integration

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// TestCacheMemlimitAsMemcached: cache_memlimit raises and lowers -m at run
// time on both servers. Raising lets the cache grow to the new limit;
// lowering keeps the pages held (memcached 1.6.18 frees none without its
// slab rebalancer moving them) and makes stores evict instead of growing.
func TestCacheMemlimitAsMemcached(t *testing.T) {
	const mb = 1 << 20
	bothServers(t, []string{"-m", "16"}, func(t *testing.T, s *testenv.Server) {
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(60 * time.Second))
		r := bufio.NewReader(c)
		n := 0
		fill := func(count int) {
			t.Helper()
			fillItems(t, c, r, n, count)
			n += count
		}
		st := func() (malloced, limit, evictions int) {
			t.Helper()
			m := stats(t, c, r, "stats slabs")
			g := stats(t, c, r, "stats")
			malloced, _ = strconv.Atoi(m["total_malloced"])
			limit, _ = strconv.Atoi(g["limit_maxbytes"])
			evictions, _ = strconv.Atoi(g["evictions"])
			return
		}
		fill(30000) // 30 MB of 1000-byte values into 16 MB
		if m, l, _ := st(); l != 16*mb || m > 17*mb {
			t.Fatalf("-m 16: total_malloced %d, limit_maxbytes %d", m, l)
		}
		testwire.Exchange(t, c, r, "cache_memlimit 32\r\n", "OK\r\n")
		fill(30000)
		grown, l, ev := st()
		if l != 32*mb || grown <= 24*mb || grown > 33*mb {
			t.Fatalf("raised to 32m: total_malloced %d, limit_maxbytes %d", grown, l)
		}
		testwire.Exchange(t, c, r, "cache_memlimit 8\r\n", "OK\r\n")
		fill(20000)
		m, l, ev2 := st()
		if l != 8*mb || m != grown || ev2 <= ev {
			t.Errorf("lowered to 8m: total_malloced %d (was %d), limit_maxbytes %d, evictions %d (were %d); want no growth, more evictions", m, grown, l, ev2, ev)
		}
	})
}

// fillItems stores count 1000-byte values under keys k<from>... with
// noreply, then waits for the server to have read them all.
func fillItems(t *testing.T, c net.Conn, r *bufio.Reader, from, count int) {
	t.Helper()
	val := strings.Repeat("v", 1000)
	var b strings.Builder
	for i := from; i < from+count; i++ {
		fmt.Fprintf(&b, "set k%d 0 0 1000 noreply\r\n%s\r\n", i, val)
		if b.Len() > 1<<20 || i == from+count-1 {
			if _, err := c.Write([]byte(b.String())); err != nil {
				t.Fatal(err)
			}
			b.Reset()
		}
	}
	testwire.Exchange(t, c, r, "mn\r\n", "MN\r\n")
}

// TestTemporaryTTLAsMemcached: -o temporary_ttl turns on the TEMP LRU;
// an item with a short TTL is counted in number_temp, on both servers.
func TestTemporaryTTLAsMemcached(t *testing.T) {
	bothServers(t, []string{"-o", "temporary_ttl=30"}, func(t *testing.T, s *testenv.Server) {
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		testwire.Exchange(t, c, r, "set short 0 20 1\r\nx\r\nset long 0 100 1\r\nx\r\n", "STORED\r\nSTORED\r\n")
		items := stats(t, c, r, "stats items")
		if items["items:1:number_temp"] != "1" || items["items:1:number"] != "2" {
			t.Errorf("stats items: number %q number_temp %q; want 2 and 1", items["items:1:number"], items["items:1:number_temp"])
		}
		set := stats(t, c, r, "stats settings")
		if set["temp_lru"] != "yes" || set["temporary_ttl"] != "30" {
			t.Errorf("stats settings: temp_lru %q temporary_ttl %q", set["temp_lru"], set["temporary_ttl"])
		}
	})
}
