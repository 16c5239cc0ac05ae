package memcache

import "bytes"

// maxPrefixes bounds "stats detail" memory: prefixes first seen after this
// many are not recorded.
const maxPrefixes = 1 << 16

// PrefixStats is one "PREFIX <Prefix> get <Gets> hit <Hits> set <Sets>
// del <Deletes>" line of "stats detail dump".
type PrefixStats struct {
	Prefix                    string
	Gets, Hits, Sets, Deletes uint64
}

// prefixTable is memcached's stats_prefix: per key prefix (the bytes before
// the first delimiter; keys without one are not counted) counts of gets,
// hits, sets and deletes, recorded only while detail is on.
type prefixTable struct {
	on    bool
	delim byte
	index map[string]int
	list  []PrefixStats
}

func (t *prefixTable) init(delim byte) { t.delim = delim }

func (t *prefixTable) find(key []byte) *PrefixStats {
	i := bytes.IndexByte(key, t.delim)
	if i < 0 {
		return nil
	}
	p := key[:i]
	if n, ok := t.index[string(p)]; ok {
		return &t.list[n]
	}
	if len(t.list) >= maxPrefixes {
		return nil
	}
	if t.index == nil {
		t.index = make(map[string]int)
	}
	t.index[string(p)] = len(t.list)
	t.list = append(t.list, PrefixStats{Prefix: string(p)})
	return &t.list[len(t.list)-1]
}

func (t *prefixTable) recordGet(key []byte, hit bool) {
	if !t.on {
		return
	}
	if s := t.find(key); s != nil {
		s.Gets++
		if hit {
			s.Hits++
		}
	}
}

func (t *prefixTable) recordSet(key []byte) {
	if t.on {
		if s := t.find(key); s != nil {
			s.Sets++
		}
	}
}

func (t *prefixTable) recordDelete(key []byte) {
	if t.on {
		if s := t.find(key); s != nil {
			s.Deletes++
		}
	}
}

// SetDetail is "stats detail on|off". Turning it off keeps what was
// recorded, as memcached does.
func (c *Cache) SetDetail(on bool) { c.detail.on = on }

// DetailEnabled reports whether "stats detail" recording is on.
func (c *Cache) DetailEnabled() bool { return c.detail.on }

// DetailDump is "stats detail dump", newest prefix first.
func (c *Cache) DetailDump() []PrefixStats {
	out := make([]PrefixStats, len(c.detail.list))
	for i, s := range c.detail.list {
		out[len(out)-1-i] = s
	}
	return out
}
