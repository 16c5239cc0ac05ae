package memcache

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		errHas string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero memory", func(c *Config) { c.MaxBytes = 0 }, "-m"},
		{"factor 1", func(c *Config) { c.GrowthFactor = 1 }, "-f"},
		{"factor below 1", func(c *Config) { c.GrowthFactor = 0.5 }, "-f"},
		{"chunk min 0", func(c *Config) { c.ChunkSizeMin = 0 }, "-n"},
		{"item max too small", func(c *Config) { c.ItemSizeMax = 512 }, "-I"},
		{"item max 1k", func(c *Config) { c.ItemSizeMax = 1024 }, ""},
		{"item max over half of -m", func(c *Config) { c.ItemSizeMax = 64 << 20 }, "1/2 of memory max"},
		{"item max 128m", func(c *Config) { c.ItemSizeMax = 128 << 20; c.MaxBytes = 1 << 30 }, ""},
		{"item max over 128m", func(c *Config) { c.ItemSizeMax = 128<<20 + 1; c.MaxBytes = 1 << 30 }, "128m"},
		{"hashpower 0", func(c *Config) { c.HashPowerInit = 0 }, "hashpower"},
		{"hashpower 31", func(c *Config) { c.HashPowerInit = 31 }, "hashpower"},
		{"lru pct sum", func(c *Config) { c.HotLRUPct = 50; c.WarmLRUPct = 50 }, "80%"},
		{"chunk min huge", func(c *Config) { c.ChunkSizeMin = 1 << 20 }, "-n"},
		{"memory beyond references", func(c *Config) { c.MaxBytes = 1 << 40 }, "32-bit item reference"},
		{"tiny factor still builds", func(c *Config) { c.GrowthFactor = 1.0001 }, ""},
		{"automove 3", func(c *Config) { c.SlabAutomove = 3 }, "slab_automove"},
		{"automove ratio 1", func(c *Config) { c.SlabAutomoveRatio = 1 }, "slab_automove_ratio"},
		{"automove window 2", func(c *Config) { c.SlabAutomoveWindow = 2 }, "slab_automove_window"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			c, err := New(cfg, t0)
			if tc.errHas == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if len(c.classes) < 2 || len(c.classes) > MaxSlabClasses+1 {
					t.Fatalf("%d classes", len(c.classes))
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error %v, want ErrInvalidConfig mentioning %q", err, tc.errHas)
			}
		})
	}
}

func TestResultAndModeStrings(t *testing.T) {
	if Stored.String() != "Stored" || NonNumeric.String() != "NonNumeric" || Result(200).String() != "Result(?)" {
		t.Fatal("Result.String")
	}
	if ModePrepend.String() != "prepend" || Mode(0).String() != "mode(?)" {
		t.Fatal("Mode.String")
	}
}

func TestSlabGeometryAccessors(t *testing.T) {
	c := newTestCache(t, nil)
	if c.SlabPageSize() != 1<<20 || c.SlabChunkMax() != 1<<20 || c.SlabClasses() != 42 {
		t.Fatalf("page %d chunk max %d classes %d", c.SlabPageSize(), c.SlabChunkMax(), c.SlabClasses())
	}
	if c.Config().MaxBytes != 64<<20 {
		t.Fatal("Config() lost MaxBytes")
	}
	big := newTestCache(t, func(cfg *Config) { cfg.ItemSizeMax = 2 << 20 })
	if big.SlabPageSize() != 2<<20 || big.SlabChunkMax() != 2<<20 {
		t.Fatalf("-I 2m: page %d chunk max %d", big.SlabPageSize(), big.SlabChunkMax())
	}
}
