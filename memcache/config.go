package memcache

import (
	"errors"
	"fmt"
)

// Limits that mirror memcached's compile-time constants.
const (
	// KeyMaxLength is the longest key memcached accepts (KEY_MAX_LENGTH).
	KeyMaxLength = 250
	// MaxSlabClasses bounds the number of size classes (MAX_NUMBER_OF_SLAB_CLASSES - 1).
	MaxSlabClasses = 63
	// DefaultPageSize is memcached's slab page size (-o slab_page_size default).
	DefaultPageSize = 1 << 20
	// ItemSizeMaxLimit is the largest -I we accept.
	ItemSizeMaxLimit = 128 << 20
	// ItemSizeMinLimit is the smallest -I we accept (memcached's floor).
	ItemSizeMinLimit = 1024
	// RealtimeMaxDelta is the largest exptime treated as relative (30 days).
	RealtimeMaxDelta = 60 * 60 * 24 * 30
	// HeaderSize is the per-item overhead inside a chunk, like sizeof(item)
	// in memcached on a 64-bit build with CAS.
	HeaderSize = 48
	// hashPowerMax caps the hash table at 2^30 buckets of 4 bytes each.
	hashPowerMax = 30
)

// ErrInvalidConfig is wrapped by every error New returns for a bad Config.
var ErrInvalidConfig = errors.New("memcache: invalid config")

// Config holds the engine's knobs; field comments name memcached's flag.
type Config struct {
	// MaxBytes is -m: the bytes of slab pages the engine may allocate.
	MaxBytes int64
	// NoEvict is -M: return NoMemory instead of evicting.
	NoEvict bool
	// ItemSizeMax is -I: the largest item (header+key+value) in bytes.
	// The slab page size is max(1 MB, ItemSizeMax), so every item fits in
	// one chunk (see doc.go for why this differs from memcached's chaining).
	ItemSizeMax int
	// GrowthFactor is -f: chunk size multiplier between classes (> 1).
	GrowthFactor float64
	// ChunkSizeMin is -n: minimum space for key+value in the smallest class.
	ChunkSizeMin int
	// NoCAS is -C: disable CAS; every CAS reads as 0.
	NoCAS bool
	// HashPowerInit is -o hashpower: the initial table has 2^HashPowerInit buckets.
	HashPowerInit uint
	// HotLRUPct and WarmLRUPct are -o hot_lru_pct / warm_lru_pct: the share
	// of a class's item bytes HOT and WARM may hold before items flow to COLD.
	HotLRUPct, WarmLRUPct int
	// HotMaxFactor and WarmMaxFactor are -o hot_max_factor / warm_max_factor:
	// HOT/WARM items older than factor * (age of COLD's tail) flow to COLD.
	HotMaxFactor, WarmMaxFactor float64
	// PrefixDelimiter is -D: the character ending a key prefix for
	// "stats detail".
	PrefixDelimiter byte
	// TrackSizes is -o track_sizes: keep the "stats sizes" histogram.
	TrackSizes bool
	// NoHashExpand is -o no_hashexpand: never grow the hash table (size it
	// with HashPowerInit instead), as the thesis's SecureCached did.
	NoHashExpand bool
	// Preallocate is -L: take the pages from one reservation of MaxBytes
	// aligned to and advised for transparent huge pages, and give every
	// class its first page up front, as memcached's -L does on Linux.
	Preallocate bool
	// SlabReassign is -o slab_reassign (on, as in memcached 1.6; -o
	// no_slab_reassign turns it off): pages may move between classes, by
	// "slabs reassign" or by the automover.
	SlabReassign bool
	// SlabAutomove is -o slab_automove and "slabs automove": 0 off, 1
	// moves a page once a class keeps evicting while another holds much
	// older items (over SlabAutomoveWindow seconds), 2 moves a page to a
	// class on every eviction in it.
	SlabAutomove int
	// SlabAutomoveRatio is -o slab_automove_ratio: with automove 1, a
	// class's COLD age below this share of the oldest class's marks it as
	// starved.
	SlabAutomoveRatio float64
	// SlabAutomoveWindow is -o slab_automove_window: the seconds automove
	// 1 looks back over.
	SlabAutomoveWindow int
	// FlatLRU is memcached's "lru mode flat": new items enter COLD, a fetch moves an item to COLD's
	// head at most once a minute, and HOT and WARM drain.
	FlatLRU bool
	// TempLRU and TemporaryTTL are "lru temp_ttl N": items whose TTL is at
	// most TemporaryTTL seconds go to a TEMP list per class, which is
	// never evicted from, only reclaimed as its items expire.
	TempLRU      bool
	TemporaryTTL uint32
	// CrawlBudget is how many hash buckets Tick examines for expired items
	// (the LRU crawler's work per call). 0 means the default.
	CrawlBudget int
}

// DefaultConfig returns memcached 1.6's defaults: -m 64, -I 1m, -f 1.25,
// -n 48, hashpower 16, hot 20%, warm 40%, hot_max_factor 0.2,
// warm_max_factor 2.0, -D ':', slab_reassign on, slab_automove 1 with
// ratio 0.8 over a 30-second window.
func DefaultConfig() Config {
	return Config{
		MaxBytes:        64 << 20,
		ItemSizeMax:     1 << 20,
		GrowthFactor:    1.25,
		ChunkSizeMin:    48,
		HashPowerInit:   16,
		HotLRUPct:       20,
		WarmLRUPct:      40,
		HotMaxFactor:    0.2,
		WarmMaxFactor:   2.0,
		PrefixDelimiter: ':',
		CrawlBudget:     16384,

		SlabReassign:       true,
		SlabAutomove:       1,
		SlabAutomoveRatio:  0.8,
		SlabAutomoveWindow: 30,
		TemporaryTTL:       61,
	}
}

// validate checks cfg like memcached's option parsing does.
func (cfg *Config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case cfg.MaxBytes <= 0:
		return bad("memory limit -m must be positive, got %d bytes", cfg.MaxBytes)
	case cfg.GrowthFactor <= 1.0:
		return bad("growth factor -f must be greater than 1.0, got %g", cfg.GrowthFactor)
	case cfg.ChunkSizeMin <= 0:
		return bad("minimum chunk size -n must be positive, got %d", cfg.ChunkSizeMin)
	case cfg.ItemSizeMax < ItemSizeMinLimit:
		return bad("item size limit -I must be at least %d bytes, got %d", ItemSizeMinLimit, cfg.ItemSizeMax)
	case cfg.ItemSizeMax > ItemSizeMaxLimit:
		return bad("item size limit -I cannot exceed %d bytes (128m), got %d", ItemSizeMaxLimit, cfg.ItemSizeMax)
	case int64(cfg.ItemSizeMax) > cfg.MaxBytes/2:
		return bad("cannot set item size limit -I (%d) higher than 1/2 of memory max -m (%d)", cfg.ItemSizeMax, cfg.MaxBytes)
	case cfg.ChunkSizeMin+HeaderSize > cfg.ItemSizeMax/2:
		return bad("minimum chunk size -n (%d) is too large for item size limit -I (%d)", cfg.ChunkSizeMin, cfg.ItemSizeMax)
	case cfg.HashPowerInit < 1 || cfg.HashPowerInit > hashPowerMax:
		return bad("hashpower must be between 1 and %d, got %d", hashPowerMax, cfg.HashPowerInit)
	case cfg.HotLRUPct < 1 || cfg.HotLRUPct > 80:
		return bad("hot_lru_pct must be between 1 and 80, got %d", cfg.HotLRUPct)
	case cfg.WarmLRUPct < 1 || cfg.WarmLRUPct > 80:
		return bad("warm_lru_pct must be between 1 and 80, got %d", cfg.WarmLRUPct)
	case cfg.HotLRUPct+cfg.WarmLRUPct > 80:
		return bad("hot_lru_pct + warm_lru_pct cannot be more than 80%% combined, got %d", cfg.HotLRUPct+cfg.WarmLRUPct)
	case cfg.HotMaxFactor <= 0 || cfg.WarmMaxFactor <= 0:
		return bad("hot_max_factor and warm_max_factor must be positive, got %g and %g", cfg.HotMaxFactor, cfg.WarmMaxFactor)
	case cfg.SlabAutomove < 0 || cfg.SlabAutomove > 2:
		return bad("slab_automove must be between 0 and 2, got %d", cfg.SlabAutomove)
	case cfg.SlabAutomoveRatio <= 0 || cfg.SlabAutomoveRatio >= 1:
		return bad("slab_automove_ratio must be > 0 and < 1, got %g", cfg.SlabAutomoveRatio)
	case cfg.SlabAutomoveWindow <= 2:
		return bad("slab_automove_window must be > 2, got %d", cfg.SlabAutomoveWindow)
	case cfg.CrawlBudget < 0:
		return bad("crawl budget must not be negative, got %d", cfg.CrawlBudget)
	}
	if cfg.PrefixDelimiter == 0 {
		cfg.PrefixDelimiter = ':'
	}
	if cfg.CrawlBudget == 0 {
		cfg.CrawlBudget = 16384
	}
	return nil
}

func wrapConfig(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
}
