package memcache

import "testing"

func TestHashExpansionLookupsDuringExpansion(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.HashPowerInit = 4 })
	stored := map[string]string{}
	sawExpanding := 0
	for i := 0; i < 5000; i++ {
		k, v := "k"+itoa(i), "v"+itoa(i)
		set(t, c, k, v)
		stored[k] = v
		if c.hash.expanding() {
			sawExpanding++
			// Every key, migrated or not, must be found mid-expansion.
			if i%7 == 0 {
				for k, v := range stored {
					if got, ok := getString(c, k); !ok || got != v {
						t.Fatalf("mid-expansion (bucket %d of %d): %s = %q,%v want %q",
							c.hash.expandBucket, len(c.hash.old), k, got, ok, v)
					}
				}
				checkInvariants(t, c)
			}
			// Deletes in the middle of an expansion too.
			if i%11 == 0 {
				d := "k" + itoa(i/2)
				if _, ok := stored[d]; ok {
					if res := c.Delete([]byte(d), DeleteOptions{}); res != Deleted {
						t.Fatalf("delete %s mid-expansion: %v", d, res)
					}
					delete(stored, d)
				}
			}
		}
	}
	if sawExpanding == 0 {
		t.Fatal("the table never expanded")
	}
	s := c.Stats()
	if s.HashPowerLevel < 12 || s.HashExpansions < 8 {
		t.Fatalf("hash power %d after %d expansions", s.HashPowerLevel, s.HashExpansions)
	}
	for k, v := range stored {
		if got, ok := getString(c, k); !ok || got != v {
			t.Fatalf("after expansion: %s = %q,%v want %q", k, got, ok, v)
		}
	}
	checkInvariants(t, c)
}

func TestHashExpansionFinishesOnTick(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.HashPowerInit = 4 })
	for i := 0; i < 25; i++ { // 25 > 1.5 * 16 starts an expansion
		set(t, c, "k"+itoa(i), "v")
	}
	if !c.Stats().HashIsExpanding {
		t.Fatal("expansion did not start")
	}
	advance(c, 1)
	if s := c.Stats(); s.HashIsExpanding || s.HashPowerLevel != 5 || s.HashBytes != 32*4 {
		t.Fatalf("after Tick: expanding %v power %d bytes %d", s.HashIsExpanding, s.HashPowerLevel, s.HashBytes)
	}
	checkInvariants(t, c)
}

func TestNoHashExpand(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.HashPowerInit = 3; cfg.NoHashExpand = true })
	for i := 0; i < 200; i++ {
		set(t, c, "k"+itoa(i), "v")
	}
	if s := c.Stats(); s.HashPowerLevel != 3 || s.HashIsExpanding {
		t.Fatalf("hash power %d expanding %v", s.HashPowerLevel, s.HashIsExpanding)
	}
	for i := 0; i < 200; i++ {
		if _, ok := getString(c, "k"+itoa(i)); !ok {
			t.Fatalf("k%d lost in an overfull table", i)
		}
	}
	checkInvariants(t, c)
}
