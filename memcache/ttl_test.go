package memcache

import "testing"

func TestExptime(t *testing.T) {
	tests := []struct {
		name      string
		exptime   func(c *Cache) int64
		aliveAt   int64 // seconds after the store: still there
		deadAt    int64 // seconds after the store: gone (0 = never checked)
		wantTTL   int64
		immediate bool
	}{
		{"zero never expires", func(*Cache) int64 { return 0 }, 100 * 86400, 0, -1, false},
		{"relative", func(*Cache) int64 { return 10 }, 9, 10, 10, false},
		{"relative 30 days is still relative", func(*Cache) int64 { return RealtimeMaxDelta }, RealtimeMaxDelta - 1, RealtimeMaxDelta, RealtimeMaxDelta, false},
		{"absolute just above 30 days", func(c *Cache) int64 { return c.Now().Unix() + 20 }, 19, 20, 20, false},
		{"absolute in the past", func(*Cache) int64 { return RealtimeMaxDelta + 1 }, 0, 0, 0, true},
		{"negative", func(*Cache) int64 { return -1 }, 0, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(t, nil)
			exp := tc.exptime(c)
			if res, _ := mustStore(t, c, ModeSet, "k", "v", 0, exp, StoreOptions{}); res != Stored {
				t.Fatalf("store: %v", res)
			}
			if tc.immediate {
				if _, ok := getString(c, "k"); ok {
					t.Fatal("item with past exptime is visible")
				}
				if s := c.Stats(); s.GetExpired != 1 {
					t.Fatalf("get_expired = %d", s.GetExpired)
				}
				return
			}
			v, ok := c.Get([]byte("k"))
			if !ok || v.TTL != tc.wantTTL {
				t.Fatalf("ttl %d (found %v), want %d", v.TTL, ok, tc.wantTTL)
			}
			advance(c, tc.aliveAt)
			if _, ok := getString(c, "k"); !ok {
				t.Fatalf("gone after %d s", tc.aliveAt)
			}
			if tc.deadAt != 0 {
				advance(c, tc.deadAt-tc.aliveAt)
				if _, ok := getString(c, "k"); ok {
					t.Fatalf("still there after %d s", tc.deadAt)
				}
			}
		})
	}
}

func TestTouchAndGAT(t *testing.T) {
	c := newTestCache(t, nil)
	mustStore(t, c, ModeSet, "k", "v", 0, 10, StoreOptions{})
	if res := c.Touch([]byte("k"), 100); res != Touched {
		t.Fatalf("touch: %v", res)
	}
	if res := c.Touch([]byte("none"), 100); res != NotFound {
		t.Fatalf("touch miss: %v", res)
	}
	advance(c, 50)
	v, ok := c.GetAndTouch([]byte("k"), 0)
	if !ok || string(v.Value) != "v" || v.TTL != -1 {
		t.Fatalf("gat: %q %v ttl %d", v.Value, ok, v.TTL)
	}
	if _, ok := c.GetAndTouch([]byte("none"), 5); ok {
		t.Fatal("gat miss found something")
	}
	advance(c, 1000)
	if _, ok := getString(c, "k"); !ok {
		t.Fatal("gat 0 did not make the item permanent")
	}
	c.GetAndTouch([]byte("k"), -1)
	if _, ok := getString(c, "k"); ok {
		t.Fatal("gat with negative exptime did not expire the item")
	}
	s := c.Stats()
	if s.CmdTouch != 5 || s.TouchHits != 3 || s.TouchMisses != 2 || s.CmdGet != 2 {
		t.Fatalf("touch stats: cmd_touch %d hits %d misses %d cmd_get %d", s.CmdTouch, s.TouchHits, s.TouchMisses, s.CmdGet)
	}
}

func TestFlushAll(t *testing.T) {
	for _, noCAS := range []bool{false, true} {
		c := newTestCache(t, func(cfg *Config) { cfg.NoCAS = noCAS })
		set(t, c, "a", "1")
		advance(c, 1)
		set(t, c, "b", "2")
		c.FlushAll(0)
		for _, k := range []string{"a", "b"} {
			if _, ok := getString(c, k); ok {
				t.Fatalf("noCAS=%v: %s survived flush_all", noCAS, k)
			}
		}
		if !noCAS {
			// With CAS, an item stored later in the same second survives
			// (memcached's oldest_cas).
			set(t, c, "c", "3")
			if _, ok := getString(c, "c"); !ok {
				t.Fatal("item stored right after flush_all vanished")
			}
		}
		advance(c, 1)
		set(t, c, "d", "4")
		if _, ok := getString(c, "d"); !ok {
			t.Fatalf("noCAS=%v: item stored a second after flush_all vanished", noCAS)
		}
		if s := c.Stats(); s.CmdFlush != 1 || s.GetFlushed < 2 {
			t.Fatalf("cmd_flush %d get_flushed %d", s.CmdFlush, s.GetFlushed)
		}
		checkInvariants(t, c)
	}
}

func TestFlushAllDelayed(t *testing.T) {
	c := newTestCache(t, nil)
	set(t, c, "early", "1")
	c.FlushAll(10)
	advance(c, 5)
	set(t, c, "middle", "2")
	if _, ok := getString(c, "early"); !ok {
		t.Fatal("delayed flush took effect early")
	}
	advance(c, 5)
	for _, k := range []string{"early", "middle"} {
		if _, ok := getString(c, k); ok {
			t.Fatalf("%s survived the delayed flush", k)
		}
	}
	advance(c, 1)
	set(t, c, "late", "3")
	if _, ok := getString(c, "late"); !ok {
		t.Fatal("item stored after the flush time vanished")
	}
}

func TestClockMonotonic(t *testing.T) {
	c := newTestCache(t, nil)
	advance(c, 100)
	now := c.Now()
	c.Tick(t0) // backwards: ignored
	if !c.Now().Equal(now) {
		t.Fatalf("clock went back from %v to %v", now, c.Now())
	}
	if c.Uptime() != 100 {
		t.Fatalf("uptime %d", c.Uptime())
	}
}

func TestCrawlerReclaimsExpired(t *testing.T) {
	c := newTestCache(t, nil)
	for i := 0; i < 1000; i++ {
		mustStore(t, c, ModeSet, "k"+itoa(i), "v", 0, 5, StoreOptions{})
	}
	mustStore(t, c, ModeSet, "forever", "v", 0, 0, StoreOptions{})
	advance(c, 10)
	for i := 0; i < 100 && c.Stats().CurrItems > 1; i++ {
		advance(c, 1)
	}
	s := c.Stats()
	if s.CurrItems != 1 || s.Reclaimed+s.CrawlerReclaimed != 1000 || s.ExpiredUnfetched != 1000 {
		t.Fatalf("curr_items %d reclaimed %d crawler_reclaimed %d expired_unfetched %d",
			s.CurrItems, s.Reclaimed, s.CrawlerReclaimed, s.ExpiredUnfetched)
	}
	checkInvariants(t, c)
}

func TestCrawlIsBounded(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.HashPowerInit = 10 })
	for i := 0; i < 1000; i++ {
		mustStore(t, c, ModeSet, "k"+itoa(i), "v", 0, 5, StoreOptions{})
	}
	for c.hash.expanding() {
		c.expandSteps(1000)
	}
	c.now += 10 // expire everything without running Tick's other work
	c.crawl(len(c.hash.primary) / 4)
	s := c.Stats()
	if s.CrawlerReclaimed == 0 || s.CrawlerReclaimed >= 1000 {
		t.Fatalf("a quarter crawl reclaimed %d of 1000", s.CrawlerReclaimed)
	}
	for i := 0; i < 3; i++ {
		c.crawl(len(c.hash.primary) / 4)
	}
	if s := c.Stats(); s.CrawlerReclaimed != 1000 || s.CurrItems != 0 || s.CrawlerItemsChecked != 1000 {
		t.Fatalf("full crawl: reclaimed %d checked %d curr %d", s.CrawlerReclaimed, s.CrawlerItemsChecked, s.CurrItems)
	}
	checkInvariants(t, c)
}

func itoa(i int) string {
	return string(appendInt(nil, i))
}

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}
