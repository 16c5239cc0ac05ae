package memcache

import (
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// modelItem is the reference model's view of one key.
type modelItem struct {
	value string
	flags uint32
	exp   int64 // unix seconds, 0 = never
	cas   uint64
}

// TestModelRandomized runs random operations against the engine and a
// plain map and requires identical answers (no memory pressure).
func TestModelRandomized(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		runModel(t, seed, 4000)
	}
}

func runModel(t *testing.T, seed int64, ops int) {
	rng := rand.New(rand.NewSource(seed))
	c := newTestCache(t, func(cfg *Config) { cfg.HashPowerInit = 2 })
	m := map[string]*modelItem{}
	now := c.Now().Unix()
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = "key" + strconv.Itoa(i)
	}
	alive := func(k string) *modelItem {
		it := m[k]
		if it == nil {
			return nil
		}
		if it.exp != 0 && it.exp <= now {
			delete(m, k)
			return nil
		}
		return it
	}
	randValue := func() string {
		switch rng.Intn(4) {
		case 0:
			return strconv.FormatUint(rng.Uint64()>>uint(rng.Intn(64)), 10)
		case 1:
			return ""
		default:
			return strings.Repeat(string(rune('a'+rng.Intn(26))), rng.Intn(300))
		}
	}
	randExp := func() int64 {
		if rng.Intn(3) == 0 {
			return int64(rng.Intn(5)) // 0 = never, else relative
		}
		return 0
	}
	absExp := func(e int64) int64 {
		if e == 0 {
			return 0
		}
		return now + e
	}
	fail := func(step int, op string, format string, a ...any) {
		t.Helper()
		t.Fatalf("seed %d step %d %s: "+format, append([]any{seed, step, op}, a...)...)
	}
	for step := 0; step < ops; step++ {
		k := keys[rng.Intn(len(keys))]
		cur := alive(k)
		switch op := rng.Intn(13); op {
		case 0, 1: // set/add/replace
			mode := []Mode{ModeSet, ModeAdd, ModeReplace}[rng.Intn(3)]
			v, fl, e := randValue(), uint32(rng.Intn(3)), randExp()
			res, cas := mustStore(t, c, mode, k, v, fl, e, StoreOptions{})
			want := Stored
			if (mode == ModeAdd && cur != nil) || (mode == ModeReplace && cur == nil) {
				want = NotStored
			}
			if res != want {
				fail(step, mode.String(), "got %v want %v", res, want)
			}
			if res == Stored {
				m[k] = &modelItem{v, fl, absExp(e), cas}
			}
		case 2: // append/prepend
			mode := []Mode{ModeAppend, ModePrepend}[rng.Intn(2)]
			v := randValue()
			res, cas := mustStore(t, c, mode, k, v, 9, 0, StoreOptions{})
			if cur == nil {
				if res != NotStored {
					fail(step, mode.String(), "on missing: %v", res)
				}
				break
			}
			if res != Stored {
				fail(step, mode.String(), "got %v", res)
			}
			if mode == ModeAppend {
				cur.value += v
			} else {
				cur.value = v + cur.value
			}
			cur.cas = cas
		case 3: // cas
			var in uint64 = 12345678
			if cur != nil && rng.Intn(2) == 0 {
				in = cur.cas
			}
			v := randValue()
			res, cas := mustStore(t, c, ModeCAS, k, v, 1, 0, StoreOptions{CAS: in})
			switch {
			case cur == nil:
				if res != NotFound {
					fail(step, "cas", "on missing: %v", res)
				}
			case in == cur.cas:
				if res != Stored {
					fail(step, "cas", "matching: %v", res)
				}
				m[k] = &modelItem{v, 1, 0, cas}
			default:
				if res != Exists {
					fail(step, "cas", "mismatch: %v", res)
				}
			}
		case 4: // delete
			res := c.Delete([]byte(k), DeleteOptions{})
			if (cur != nil) != (res == Deleted) {
				fail(step, "delete", "got %v, model has %v", res, cur != nil)
			}
			delete(m, k)
		case 5: // incr/decr
			decr := rng.Intn(2) == 0
			delta := rng.Uint64() >> uint(rng.Intn(64))
			av, res := c.Arith([]byte(k), ArithOptions{Decr: decr, Delta: delta})
			if cur == nil {
				if res != NotFound {
					fail(step, "arith", "on missing: %v", res)
				}
				break
			}
			n, err := strconv.ParseUint(strings.TrimRight(cur.value, " "), 10, 64)
			if err != nil || cur.value == "" {
				if res != NonNumeric {
					fail(step, "arith", "on %q: %v", cur.value, res)
				}
				break
			}
			if decr {
				if delta > n {
					n = 0
				} else {
					n -= delta
				}
			} else {
				n += delta
			}
			if res != Hit || av.Value != n {
				fail(step, "arith", "on %q: %v %d want %d", cur.value, res, av.Value, n)
			}
			s := strconv.FormatUint(n, 10)
			if len(s) <= len(cur.value) {
				s += strings.Repeat(" ", len(cur.value)-len(s))
			}
			cur.value, cur.cas = s, av.CAS
		case 6: // touch
			e := randExp()
			res := c.Touch([]byte(k), e)
			if (cur != nil) != (res == Touched) {
				fail(step, "touch", "got %v, model has %v", res, cur != nil)
			}
			if cur != nil {
				cur.exp = absExp(e)
			}
		case 7, 8, 9: // get
			v, ok := c.Get([]byte(k))
			if ok != (cur != nil) {
				fail(step, "get", "found %v, model has %v", ok, cur != nil)
			}
			if ok && (string(v.Value) != cur.value || v.Flags != cur.flags || v.CAS != cur.cas) {
				fail(step, "get", "got %q/%d/%d want %q/%d/%d", v.Value, v.Flags, v.CAS, cur.value, cur.flags, cur.cas)
			}
			if ok {
				wantTTL := int64(-1)
				if cur.exp != 0 {
					wantTTL = cur.exp - now
				}
				if v.TTL != wantTTL {
					fail(step, "get", "ttl %d want %d", v.TTL, wantTTL)
				}
			}
		case 10: // time passes
			d := int64(rng.Intn(3))
			now += d
			advance(c, d)
		case 11: // gat
			e := randExp()
			v, ok := c.GetAndTouch([]byte(k), e)
			if ok != (cur != nil) {
				fail(step, "gat", "found %v, model has %v", ok, cur != nil)
			}
			if ok {
				if string(v.Value) != cur.value {
					fail(step, "gat", "got %q want %q", v.Value, cur.value)
				}
				cur.exp = absExp(e)
			}
		case 12:
			if rng.Intn(20) == 0 {
				c.FlushAll(0)
				clear(m)
			}
		}
	}
	checkInvariants(t, c)
	live := 0
	for k := range m {
		if alive(k) != nil {
			live++
		}
	}
	// Expired items may linger until touched; count only what Get sees.
	seen := 0
	for _, k := range keys {
		if _, ok := c.Get([]byte(k)); ok {
			seen++
		}
	}
	if seen != live {
		t.Fatalf("seed %d: engine has %d live keys, model %d", seed, seen, live)
	}
}
