package memcache

// The slab automover (memcached's slab_automove.c, run by its LRU
// maintainer once a second, and the slab_automove=2 hook in
// lru_pull_tail).
//
// Automove 1 keeps, per class, a window of SlabAutomoveWindow one-second
// observations: the age of the class's COLD tail, whether the class
// evicted (more than a tenth of all evictions that second) or ran out of
// memory, and whether it grew. Once the window has filled, each second:
//
//   - a class holding more than 2.5 pages of free chunks and with no
//     eviction or growth in the window gives a page to the global pool;
//   - otherwise, if the class with the youngest average age evicted in more
//     than half of the window and is evicting now, and its age is below
//     SlabAutomoveRatio times the oldest class's (which has more than two
//     pages), a page moves from the oldest class to it.
//
// Automove 2 asks for a page from any other class on every eviction.

// Thresholds of memcached's slab_automove.c.
const (
	automoveMinPagesForSource  = 2
	automoveMinPagesForReclaim = 2.5
)

type automoveWindow struct {
	age            uint64
	dirty, evicted bool
}

type automoveClassStats struct {
	evicted, outOfMemory uint64
	totalPages           uint32
}

// automover is slab_automove's state.
type automover struct {
	last   uint32 // engine second of the last run
	cur    uint64 // runs so far (window_cur)
	window [][]automoveWindow
	before []automoveClassStats
}

// SetSlabAutomove is "slabs automove 0|1|2".
func (c *Cache) SetSlabAutomove(level int) error {
	if level < 0 || level > 2 {
		return wrapConfig("slab_automove must be between 0 and 2, got %d", level)
	}
	c.cfg.SlabAutomove = level
	return nil
}

// SetSlabAutomoveRatio is "slabs automove ratio R". Like memcached it
// takes any number.
func (c *Cache) SetSlabAutomoveRatio(r float64) { c.cfg.SlabAutomoveRatio = r }

// automoveTick runs automove 1 at most once per engine second.
func (c *Cache) automoveTick() {
	if !c.cfg.SlabReassign || c.cfg.SlabAutomove != 1 || c.automove.last == c.now {
		return
	}
	c.automove.last = c.now
	if src, dst := c.automoveRun(); src != -1 && dst != -1 {
		c.slabsReassign(src, dst)
	}
}

// automoveRun is slab_automove_run: one observation and, once the window
// has filled, a decision. It returns -1, -1 for no move.
func (c *Cache) automoveRun() (src, dst int) {
	a := &c.automove
	n := len(c.classes)
	size := c.cfg.SlabAutomoveWindow
	if len(a.window) != n || len(a.window[1]) != size {
		a.window = make([][]automoveWindow, n)
		for i := range a.window {
			a.window[i] = make([]automoveWindow, size)
		}
		a.before = make([]automoveClassStats, n)
		a.cur = 0
	}
	delta := func(after, before uint64) uint64 {
		if after < before { // "stats reset" zeroed the counter
			return after
		}
		return after - before
	}
	var evictedTotal uint64
	for id := 1; id < n; id++ {
		evictedTotal += delta(c.classes[id].is.evicted, a.before[id].evicted)
	}
	a.cur++
	src, dst = -1, -1
	oldest, youngest := -1, -1
	var oldestAge uint64
	youngestAge := ^uint64(0)
	youngestEvicting := false
	for id := 1; id < n; id++ {
		p := &c.classes[id]
		w := &a.window[id][a.cur%uint64(size)]
		*w = automoveWindow{}
		if d := delta(p.is.evicted, a.before[id].evicted); d > 0 && d > evictedTotal/10 {
			w.evicted, w.dirty = true, true
		}
		if delta(p.is.outOfMemory, a.before[id].outOfMemory) > 0 {
			w.evicted, w.dirty = true, true
		}
		if p.totalPages > a.before[id].totalPages {
			w.dirty = true
		}
		if t := p.tails[lruCold]; t != 0 {
			w.age = uint64(c.now - itTime(c.chunk(t)))
		}
		a.before[id] = automoveClassStats{p.is.evicted, p.is.outOfMemory, p.totalPages}

		var sumAge uint64
		dirty, evicted := false, 0
		for _, x := range a.window[id] {
			sumAge += x.age
			dirty = dirty || x.dirty
			if x.evicted {
				evicted++
			}
		}
		age := sumAge / uint64(size)
		free := float64(p.freeCount)
		if p.curPage != 0 {
			free += float64(p.perSlab - p.curNext)
		}
		if free > float64(p.perSlab)*automoveMinPagesForReclaim && !dirty {
			// The rest of the classes are not observed this second, as in
			// memcached, whose loop ends here too.
			for rest := id + 1; rest < n; rest++ {
				q := &c.classes[rest]
				a.before[rest] = automoveClassStats{q.is.evicted, q.is.outOfMemory, q.totalPages}
			}
			return id, 0
		}
		if age > oldestAge && p.totalPages > automoveMinPagesForSource {
			oldest, oldestAge = id, age
		}
		if age < youngestAge && evicted > size/2 {
			youngest, youngestAge = id, age
			youngestEvicting = w.evicted
		}
	}
	if youngest != -1 && oldest != -1 && a.cur > uint64(size) &&
		float64(youngestAge) < float64(oldestAge)*c.cfg.SlabAutomoveRatio && youngestEvicting {
		return oldest, youngest
	}
	return src, dst
}
