package memcache

import (
	"bytes"
	"math/rand"
	"testing"
)

// TestRandomUnderMemoryPressure mixes every operation, values of many
// sizes and outstanding reservations in a small cache, checking the
// structural invariants as it goes and that whatever Get returns is a value
// that was written for that key.
func TestRandomUnderMemoryPressure(t *testing.T) {
	for _, noEvict := range []bool{false, true} {
		for seed := int64(1); seed <= 3; seed++ {
			stressOnce(t, seed, noEvict)
		}
	}
}

func stressOnce(t *testing.T, seed int64, noEvict bool) {
	rng := rand.New(rand.NewSource(seed))
	c := newTestCache(t, func(cfg *Config) {
		cfg.MaxBytes = 4 << 20
		cfg.NoEvict = noEvict
		cfg.HashPowerInit = 3
	})
	// Values are the key's fill byte repeated, so a torn or misplaced value
	// is detectable.
	fill := func(k string) byte { return k[len(k)-1] }
	var pending []Reservation
	var pendingKeys []string
	for step := 0; step < 30000; step++ {
		k := "k" + itoa(rng.Intn(3000))
		size := rng.Intn(64)
		if rng.Intn(10) == 0 {
			size = rng.Intn(200_000)
		}
		switch rng.Intn(10) {
		case 0, 1, 2:
			mustStore(t, c, ModeSet, k, string(bytes.Repeat([]byte{fill(k)}, size)), 0, int64(rng.Intn(3)), StoreOptions{})
		case 3:
			mustStore(t, c, ModeAppend, k, string(bytes.Repeat([]byte{fill(k)}, size)), 0, 0, StoreOptions{})
		case 4:
			r, res, err := c.Reserve(ModeSet, []byte(k), 0, 0, size, StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res == Stored {
				for i := range r.Value {
					r.Value[i] = fill(k)
				}
				pending = append(pending, r)
				pendingKeys = append(pendingKeys, k)
			}
		case 5:
			if len(pending) > 0 {
				i := rng.Intn(len(pending))
				var err error
				if rng.Intn(2) == 0 {
					_, _, err = c.Commit(&pending[i])
				} else {
					err = c.Abort(&pending[i])
				}
				if err != nil {
					t.Fatalf("finishing reservation for %s: %v", pendingKeys[i], err)
				}
				pending = append(pending[:i], pending[i+1:]...)
				pendingKeys = append(pendingKeys[:i], pendingKeys[i+1:]...)
			}
		case 6:
			c.Delete([]byte(k), DeleteOptions{})
		case 7:
			c.MetaGet([]byte(k), MetaGetOptions{Vivify: true, VivifyTTL: 2})
		case 8:
			if rng.Intn(50) == 0 {
				advance(c, 1)
			}
		default:
			if v, ok := c.Get([]byte(k)); ok {
				if bytes.IndexFunc(v.Value, func(r rune) bool { return byte(r) != fill(k) }) >= 0 {
					t.Fatalf("seed %d step %d: %s holds a foreign value", seed, step, k)
				}
			}
		}
		if step%5000 == 0 {
			checkInvariants(t, c)
		}
	}
	for i := range pending {
		if err := c.Abort(&pending[i]); err != nil {
			t.Fatal(err)
		}
	}
	checkInvariants(t, c)
	if s := c.Stats(); s.TotalMalloced > 4<<20+uint64(len(c.classes))<<20 {
		t.Fatalf("malloced %d", s.TotalMalloced)
	}
}
