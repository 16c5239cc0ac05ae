package cacheagent

import (
	"strings"
	"testing"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/memcache"
)

func TestEngineConfigMapsFlags(t *testing.T) {
	set, err := config.Parse(strings.Fields("-m 128 -M -I 2m -f 1.5 -n 64 -C -D / -o hashpower=20,hot_lru_pct=10,warm_lru_pct=30,hot_max_factor=0.3,warm_max_factor=3,track_sizes"))
	if err != nil {
		t.Fatal(err)
	}
	got := EngineConfig(&set)
	want := memcache.DefaultConfig()
	want.MaxBytes, want.NoEvict, want.ItemSizeMax = 128<<20, true, 2<<20
	want.GrowthFactor, want.ChunkSizeMin, want.NoCAS, want.PrefixDelimiter = 1.5, 64, true, '/'
	want.HashPowerInit, want.HotLRUPct, want.WarmLRUPct = 20, 10, 30
	want.HotMaxFactor, want.WarmMaxFactor, want.TrackSizes = 0.3, 3, true
	if got != want {
		t.Errorf("EngineConfig =\n%+v\nwant\n%+v", got, want)
	}
	if d := EngineConfig(&config.Settings{MemoryLimit: 64 << 20, MaxItemSize: 1 << 20}); d.HashPowerInit != memcache.DefaultConfig().HashPowerInit {
		t.Errorf("hashpower 0 should keep the engine default, got %d", d.HashPowerInit)
	}
}

func TestConnSettingsMapsFlags(t *testing.T) {
	tests := []struct {
		args string
		want conn.Settings
	}{
		{"", conn.Settings{Protocol: conn.ProtocolAuto, ReqsPerEvent: 20}},
		{"-B ascii -R 5 -A -F -X", conn.Settings{Protocol: conn.ProtocolASCII, ReqsPerEvent: 5, ShutdownEnabled: true, FlushDisabled: true, DumpDisabled: true}},
		{"-B binary -Y /x", conn.Settings{Protocol: conn.ProtocolBinary, ReqsPerEvent: 20, ASCIIAuth: true}},
	}
	for _, tt := range tests {
		set, err := config.Parse(strings.Fields(tt.args))
		if err != nil {
			t.Fatal(err)
		}
		if got := ConnSettings(&set); got != tt.want {
			t.Errorf("ConnSettings(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}
