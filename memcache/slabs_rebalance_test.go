package memcache

import (
	"bytes"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// checkSlabs cross-checks the allocator: every page belongs to one class or
// to the pool, free lists hold only free chunks of their class's pages
// (never of the page being moved), and each class's chunks add up.
func checkSlabs(t testing.TB, c *Cache) {
	t.Helper()
	pool := 0
	for idx := 1; idx < len(c.pageChunk); idx++ {
		if c.pageChunk[idx] == 0 {
			pool++
		}
	}
	if pool != len(c.pagePool) {
		t.Fatalf("%d pages marked free, pool holds %d", pool, len(c.pagePool))
	}
	for id := 1; id < len(c.classes); id++ {
		p := &c.classes[id]
		free := uint32(0)
		for ref := p.freeHead; ref != 0; ref = hnext(c.chunk(ref)) {
			pi := ref >> c.chunkBits
			if c.pageChunk[pi] != p.size {
				t.Fatalf("class %d: free chunk %x on a page of chunk size %d", id, ref, c.pageChunk[pi])
			}
			if c.mover.page != 0 && pi == c.mover.page {
				t.Fatalf("class %d: free chunk %x on the page being moved", id, ref)
			}
			if f := iflags(c.chunk(ref)); f&(itemLinked|itemReserved|itemPinned) != 0 {
				t.Fatalf("class %d: free chunk %x has flags %x", id, ref, f)
			}
			free++
			if free > p.totalPages*p.perSlab {
				t.Fatalf("class %d: free list loops", id)
			}
		}
		if free != p.freeCount {
			t.Fatalf("class %d: free list holds %d, freeCount %d", id, free, p.freeCount)
		}
		pages, used, idle := uint32(0), uint32(0), uint32(0)
		for idx := 1; idx < len(c.pageChunk); idx++ {
			if c.pageChunk[idx] != p.size {
				continue
			}
			pages++
			end := p.perSlab
			switch {
			case uint32(idx) == p.curPage:
				end = p.curNext
			case c.mover.page == uint32(idx):
				end = c.mover.carveEnd
			}
			for i := uint32(0); i < end; i++ {
				it := c.chunk(uint32(idx)<<c.chunkBits | i)
				if iflags(it)&(itemLinked|itemReserved|itemPinned) != 0 {
					if clsid(it) != id {
						t.Fatalf("class %d: item of class %d on its page", id, clsid(it))
					}
					used++
				} else if c.mover.page == uint32(idx) {
					idle++
				}
			}
			idle += p.perSlab - end
		}
		if pages != p.totalPages || used != p.used {
			t.Fatalf("class %d: %d pages (totalPages %d), %d chunks in use (used %d)", id, pages, p.totalPages, used, p.used)
		}
		if p.used+p.freeCount+idle != p.totalPages*p.perSlab {
			t.Fatalf("class %d: used %d + free %d + uncarved/idle %d != %d chunks", id, p.used, p.freeCount, idle, p.totalPages*p.perSlab)
		}
	}
}

// finishMove ticks without advancing time until the mover is idle.
func finishMove(t testing.TB, c *Cache) {
	t.Helper()
	for i := 0; c.mover.running; i++ {
		if i > 100 {
			t.Fatal("page move did not finish in 100 ticks")
		}
		c.Tick(c.Now())
	}
}

func classOf(t testing.TB, c *Cache, key string) int {
	v, ok := c.Get([]byte(key))
	if !ok {
		t.Fatalf("%s missing", key)
	}
	return v.Class
}

func TestSlabsReassignReplies(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.SlabAutomove = 0 })
	val := strings.Repeat("v", 100)
	for i := 0; i < 30000; i++ { // three pages of class 3 or so
		set(t, c, "k"+strconv.Itoa(i), val)
	}
	src := classOf(t, c, "k0")
	if c.classes[src].totalPages < 2 {
		t.Fatalf("class %d has %d pages", src, c.classes[src].totalPages)
	}
	largest := c.SlabClasses()
	for _, tc := range []struct {
		src, dst int
		want     ReassignResult
	}{
		{src, src, ReassignSame},
		{src, largest + 1, ReassignBadClass},
		{-2, 1, ReassignBadClass},
		{1, src, ReassignNoSpare},   // class 1 has no page
		{0, src, ReassignNoSpare},   // the pool is empty
		{-1, src, ReassignBadClass}, // no other class has a spare page
		{src, src + 1, ReassignOK},
		{src, 0, ReassignRunning},
	} {
		if got := c.SlabsReassign(tc.src, tc.dst); got != tc.want {
			t.Errorf("SlabsReassign(%d, %d) = %v, want %v", tc.src, tc.dst, got, tc.want)
		}
	}
	d := newTestCache(t, func(cfg *Config) { cfg.SlabReassign = false })
	if got := d.SlabsReassign(1, 2); got != ReassignDisabled || got.String() != "CLIENT_ERROR slab reassignment disabled" {
		t.Errorf("with slab_reassign off: %v", got)
	}
}

// TestPageMoveRescuesItems: with free chunks elsewhere in the class, every
// live item of the moved page is rescued with its value, flags, CAS, TTL
// and LRU neighbours.
func TestPageMoveRescuesItems(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.SlabAutomove = 0 })
	type want struct {
		val   string
		flags uint32
		cas   uint64
		ttl   int64
	}
	model := map[string]want{}
	for i := 0; i < 30000; i++ {
		k := "k" + strconv.Itoa(i)
		v := strconv.Itoa(i) + strings.Repeat("x", 100)
		exp := int64(0)
		if i%3 == 0 {
			exp = int64(1000 + i)
		}
		res, cas := mustStore(t, c, ModeSet, k, v, uint32(i), exp, StoreOptions{})
		if res != Stored {
			t.Fatal(res)
		}
		model[k] = want{v, uint32(i), cas, 0}
	}
	src := classOf(t, c, "k0")
	pagesBefore := c.classes[src].totalPages
	// Free a third of the chunks so that rescues find room.
	for i := 0; i < 30000; i += 3 {
		k := "k" + strconv.Itoa(i)
		c.Delete([]byte(k), DeleteOptions{})
		delete(model, k)
	}
	if r := c.SlabsReassign(src, src+2); r != ReassignOK {
		t.Fatal(r)
	}
	c.Tick(c.Now())
	checkInvariants(t, c)
	finishMove(t, c)
	checkInvariants(t, c)
	s := c.Stats()
	if s.SlabsMoved != 1 || s.SlabReassignRescues == 0 || s.SlabReassignEvictionsNomem != 0 || s.SlabReassignRunning {
		t.Fatalf("stats after move: %+v", s)
	}
	if got := c.classes[src].totalPages; got != pagesBefore-1 {
		t.Fatalf("source has %d pages, want %d", got, pagesBefore-1)
	}
	if got := c.classes[src+2].totalPages; got != 1 {
		t.Fatalf("destination has %d pages, want 1", got)
	}
	for k, w := range model {
		v, ok := c.Get([]byte(k))
		if !ok {
			t.Fatalf("%s lost in the move", k)
		}
		if string(v.Value) != w.val || v.Flags != w.flags || v.CAS != w.cas {
			t.Fatalf("%s: got %q/%d/%d want %q/%d/%d", k, v.Value, v.Flags, v.CAS, w.val, w.flags, w.cas)
		}
		if v.TTL != -1 {
			t.Fatalf("%s: ttl %d, want -1", k, v.TTL)
		}
	}
	// The destination's new chunks are usable.
	big := strings.Repeat("y", int(c.classes[src+2].size)-HeaderSize-40)
	set(t, c, "big", big)
	if got := classOf(t, c, "big"); got != src+2 {
		t.Fatalf("big item in class %d, want %d", got, src+2)
	}
	checkInvariants(t, c)
}

// TestPageMoveTTLKept: rescued items keep their remaining TTL and expire
// when they would have.
func TestPageMoveTTLKept(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.SlabAutomove = 0 })
	for i := 0; i < 25000; i++ {
		mustStore(t, c, ModeSet, "k"+strconv.Itoa(i), strings.Repeat("t", 100), 0, int64(100+i%2*100), StoreOptions{})
	}
	src := classOf(t, c, "k0")
	for i := 0; i < 25000; i += 2 {
		c.Delete([]byte("k"+strconv.Itoa(i)), DeleteOptions{})
	}
	advance(c, 10)
	if r := c.SlabsReassign(src, 0); r != ReassignOK {
		t.Fatal(r)
	}
	finishMove(t, c)
	checkInvariants(t, c)
	if len(c.pagePool) != 1 {
		t.Fatalf("pool holds %d pages", len(c.pagePool))
	}
	for i := 1; i < 25000; i += 2 {
		v, ok := c.Get([]byte("k" + strconv.Itoa(i)))
		if !ok || v.TTL != 190 {
			t.Fatalf("k%d: found %v ttl %d, want 190", i, ok, v.TTL)
		}
	}
	advance(c, 191)
	for i := 1; i < 25000; i += 2 {
		if _, ok := c.Get([]byte("k" + strconv.Itoa(i))); ok {
			t.Fatalf("k%d outlived its TTL", i)
		}
	}
}

// TestPageMoveEvictsWithoutRoom: a full class cannot rescue, so the
// page's items are evicted and counted as slab_reassign_evictions_nomem;
// the other items stay.
func TestPageMoveEvictsWithoutRoom(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.SlabAutomove = 0; cfg.MaxBytes = 4 << 20 })
	n := 0
	for ; c.Stats().Evictions == 0; n++ {
		set(t, c, "k"+strconv.Itoa(n), strings.Repeat("e", 200))
	}
	src := classOf(t, c, "k"+strconv.Itoa(n-1))
	before := c.Stats().CurrItems
	if r := c.SlabsReassign(src, 1); r != ReassignOK {
		t.Fatal(r)
	}
	finishMove(t, c)
	checkInvariants(t, c)
	s := c.Stats()
	lost := before - s.CurrItems
	if lost == 0 || lost != s.SlabReassignEvictionsNomem || lost > uint64(c.classes[src].perSlab) {
		t.Fatalf("lost %d items, evictions_nomem %d, chunks per page %d", lost, s.SlabReassignEvictionsNomem, c.classes[src].perSlab)
	}
	found := uint64(0)
	for i := 0; i < n; i++ {
		k := "k" + strconv.Itoa(i)
		if v, ok := c.Get([]byte(k)); ok {
			found++
			if string(v.Value) != strings.Repeat("e", 200) {
				t.Fatalf("%s corrupted", k)
			}
		}
	}
	if found != s.CurrItems {
		t.Fatalf("found %d, curr_items %d", found, s.CurrItems)
	}
}

// TestPageMoveWaitsForReservation: a chunk whose value is still being
// received keeps its page until the reservation ends.
func TestPageMoveWaitsForReservation(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.SlabAutomove = 0 })
	val := strings.Repeat("r", 100)
	var rsv Reservation
	for i := 0; i < 30000; i++ {
		if i == 5 {
			var res Result
			var err error
			rsv, res, err = c.Reserve(ModeSet, []byte("pending"), 7, 0, len(val), StoreOptions{})
			if err != nil || res != Stored {
				t.Fatal(res, err)
			}
			continue
		}
		set(t, c, "k"+strconv.Itoa(i), val)
	}
	for i := 100; i < 30000; i += 2 {
		c.Delete([]byte("k"+strconv.Itoa(i)), DeleteOptions{})
	}
	src := classOf(t, c, "k0")
	// The first page (the reservation's) is the one that moves.
	if r := c.SlabsReassign(src, 0); r != ReassignOK {
		t.Fatal(r)
	}
	for i := 0; i < 3; i++ {
		c.Tick(c.Now())
	}
	if !c.mover.running || c.Stats().SlabReassignBusyItems == 0 {
		t.Fatalf("mover running %v, busy %d", c.mover.running, c.Stats().SlabReassignBusyItems)
	}
	checkInvariants(t, c)
	copy(rsv.Value, val)
	if res, _, err := c.Commit(&rsv); err != nil || res != Stored {
		t.Fatal(res, err)
	}
	finishMove(t, c)
	checkInvariants(t, c)
	if v, ok := c.Get([]byte("pending")); !ok || string(v.Value) != val || v.Flags != 7 {
		t.Fatalf("pending: %v %q", ok, v.Value)
	}
}

// TestPoolPageReused: a page given to the pool is the next page a class
// takes, without allocating.
func TestPoolPageReused(t *testing.T) {
	c := newTestCache(t, func(cfg *Config) { cfg.SlabAutomove = 0 })
	for i := 0; i < 30000; i++ {
		set(t, c, "k"+strconv.Itoa(i), strings.Repeat("p", 100))
	}
	src := classOf(t, c, "k0")
	if r := c.SlabsReassign(src, 0); r != ReassignOK {
		t.Fatal(r)
	}
	finishMove(t, c)
	malloced := c.Stats().TotalMalloced
	if c.Stats().SlabGlobalPagePool != 1 {
		t.Fatal("page not in the pool")
	}
	set(t, c, "large", strings.Repeat("L", 5000))
	if s := c.Stats(); s.SlabGlobalPagePool != 0 || s.TotalMalloced != malloced {
		t.Fatalf("pool %d, malloced %d -> %d", s.SlabGlobalPagePool, malloced, s.TotalMalloced)
	}
	checkInvariants(t, c)
	// And the pool can give a page to a class directly.
	if r := c.SlabsReassign(src, 0); r != ReassignOK {
		t.Fatal(r)
	}
	finishMove(t, c)
	if r := c.SlabsReassign(0, 1); r != ReassignNoSpare { // memcached wants two
		t.Fatal(r)
	}
	// Two pool pages: one moves to class 1. Drawn empty before the move
	// runs, the pool moves nothing.
	if r := c.SlabsReassign(src, 0); r != ReassignOK {
		t.Fatal(r)
	}
	finishMove(t, c)
	if r := c.SlabsReassign(0, 1); r != ReassignOK {
		t.Fatal(r)
	}
	pages1 := c.classes[1].totalPages
	finishMove(t, c)
	if c.classes[1].totalPages != pages1+1 || len(c.pagePool) != 1 {
		t.Fatalf("class 1 has %d pages, pool %d", c.classes[1].totalPages, len(c.pagePool))
	}
	if r := c.SlabsReassign(src, 0); r != ReassignOK {
		t.Fatal(r)
	}
	finishMove(t, c)
	if r := c.SlabsReassign(0, 1); r != ReassignOK {
		t.Fatal(r)
	}
	// Two classes without pages take both pool pages first.
	set(t, c, "larger", strings.Repeat("L", 20000))
	set(t, c, "largest", strings.Repeat("L", 100000))
	if len(c.pagePool) != 0 {
		t.Fatalf("pool still holds %d pages", len(c.pagePool))
	}
	moved := c.mover.moved
	finishMove(t, c)
	if c.mover.moved != moved {
		t.Fatal("moved a page from an empty pool")
	}
	checkInvariants(t, c)
}

// TestRandomizedPageMoves interleaves random operations, random page moves
// and outstanding reservations against a model: a key either reads back
// exactly as last written or is gone, and only moves and evictions may
// lose keys.
func TestRandomizedPageMoves(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		pageMoveModel(t, seed, 25000)
	}
}

// FuzzPageMoves explores more seeds of the same model:
// go test -fuzz FuzzPageMoves ./memcache
func FuzzPageMoves(f *testing.F) {
	f.Add(int64(4))
	f.Fuzz(func(t *testing.T, seed int64) { pageMoveModel(t, seed, 5000) })
}

func pageMoveModel(t *testing.T, seed int64, steps int) {
	rng := rand.New(rand.NewSource(seed))
	c := newTestCache(t, func(cfg *Config) {
		cfg.MaxBytes = 12 << 20
		cfg.HashPowerInit = 4
		cfg.SlabAutomove = int(uint64(seed) % 3)
	})
	type entry struct {
		val   []byte
		flags uint32
		cas   uint64
	}
	model := map[string]entry{}
	var pending []Reservation
	var pendingKey []string
	// Pins taken on hits, with the value each must keep showing while
	// stores, deletes, evictions and page moves go on around it.
	type held struct {
		pin  Pin
		want []byte
	}
	var pins []held
	checkPins := func(step int) {
		for _, h := range pins {
			if !bytes.Equal(h.pin.Value, h.want) {
				t.Fatalf("seed %d step %d: a pinned value changed", seed, step)
			}
		}
	}
	lost := uint64(0)
	for step := 0; step < steps; step++ {
		k := "key" + strconv.Itoa(rng.Intn(20000))
		switch op := rng.Intn(12); {
		case op < 4:
			// Two size bands, a few classes each, so that classes grow
			// past one page and the cache fills.
			size := 50 + rng.Intn(100)
			if rng.Intn(4) == 0 {
				size = 1000 + rng.Intn(300)
			}
			v := bytes.Repeat([]byte{byte('a' + rng.Intn(26))}, size)
			res, cas, _ := c.Store(ModeSet, []byte(k), uint32(step), 0, v, StoreOptions{})
			if res == Stored {
				model[k] = entry{v, uint32(step), cas}
			} else {
				delete(model, k)
			}
		case op == 4:
			if c.Delete([]byte(k), DeleteOptions{}) == Deleted {
				delete(model, k)
			}
		case op == 5:
			size := 50 + rng.Intn(100)
			r, res, _ := c.Reserve(ModeSet, []byte(k), 1, 0, size, StoreOptions{})
			if res == Stored {
				pending = append(pending, r)
				pendingKey = append(pendingKey, k)
			}
		case op == 6 && len(pending) > 0:
			i := rng.Intn(len(pending))
			r := pending[i]
			// Filled only now: a page moved under the reservation would
			// show up as a foreign value or broken invariants.
			for j := range r.Value {
				r.Value[j] = 'R'
			}
			val := bytes.Clone(r.Value)
			res, cas, err := c.Commit(&r)
			if err != nil {
				t.Fatalf("seed %d step %d: commit: %v", seed, step, err)
			}
			if res == Stored {
				model[pendingKey[i]] = entry{val, 1, cas}
			}
			pending = append(pending[:i], pending[i+1:]...)
			pendingKey = append(pendingKey[:i], pendingKey[i+1:]...)
		case op == 7:
			src := -1 // any class with a spare page, mostly
			if rng.Intn(4) == 0 {
				src = rng.Intn(c.SlabClasses() + 1)
			}
			c.SlabsReassign(src, rng.Intn(c.SlabClasses()+1))
		case op == 8:
			c.Tick(c.Now())
		case op == 9 && len(pins) > 0 && rng.Intn(2) == 0:
			i := rng.Intn(len(pins))
			if !bytes.Equal(pins[i].pin.Value, pins[i].want) {
				t.Fatalf("seed %d step %d: a pinned value changed", seed, step)
			}
			if err := c.Unpin(&pins[i].pin); err != nil {
				t.Fatalf("seed %d step %d: unpin: %v", seed, step, err)
			}
			pins = append(pins[:i], pins[i+1:]...)
		default:
			v, ok := c.Get([]byte(k))
			m, inModel := model[k]
			switch {
			case ok && !inModel:
				t.Fatalf("seed %d step %d: %s found but not in the model", seed, step, k)
			case ok && (!bytes.Equal(v.Value, m.val) || v.Flags != m.flags || v.CAS != m.cas):
				t.Fatalf("seed %d step %d: %s differs from the model", seed, step, k)
			case !ok && inModel:
				delete(model, k) // evicted, by the LRU or a page move
				lost++
			}
			if ok && rng.Intn(16) == 0 {
				want := bytes.Clone(v.Value)
				p, pinnedOK := c.Pin(v)
				if !pinnedOK {
					t.Fatalf("seed %d step %d: pin of a hit refused", seed, step)
				}
				pins = append(pins, held{p, want})
			}
		}
		if step%4000 == 0 {
			checkInvariants(t, c)
			checkPins(step)
		}
	}
	checkPins(steps)
	for i := range pins {
		if err := c.Unpin(&pins[i].pin); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.PinsHeld(); n != 0 {
		t.Fatalf("seed %d: %d pins held after releasing all", seed, n)
	}
	for i := range pending {
		if err := c.Abort(&pending[i]); err != nil {
			t.Fatal(err)
		}
	}
	finishMove(t, c)
	checkInvariants(t, c)
	s := c.Stats()
	if steps >= 20000 && s.SlabsMoved == 0 {
		t.Fatalf("seed %d: no page moved", seed)
	}
	if lost > s.Evictions+s.SlabReassignEvictionsNomem {
		t.Fatalf("seed %d: %d keys lost, only %d evictions and %d by page moves", seed, lost, s.Evictions, s.SlabReassignEvictionsNomem)
	}
}
