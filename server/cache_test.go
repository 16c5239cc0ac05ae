package server

import (
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/memcache"
)

// fakeHost answers a session's server questions without a server: the
// cache agent must work with no sockets at all (the Diggi gateway case).
type fakeHost struct{ shutdowns int }

func (h *fakeHost) ServerStats() conn.ServerStats       { return conn.ServerStats{Pid: 1, Threads: 1} }
func (h *fakeHost) ServerSettings() conn.ServerSettings { return conn.ServerSettings{} }
func (h *fakeHost) Conns() []conn.ConnInfo              { return nil }
func (h *fakeHost) Authenticate(u, p []byte) bool       { return false }
func (h *fakeHost) Shutdown(bool)                       { h.shutdowns++ }
func (h *fakeHost) SetVerbosity(uint32)                 {}

func newTestCache(t *testing.T, args ...string) *Cache {
	t.Helper()
	set, err := config.Parse(args)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(EngineConfig(&set), ConnSettings(&set), &fakeHost{}, time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// drain collects a session's output the way the relay does.
func drain(s *Session, more bool) string {
	var out strings.Builder
	for {
		o := s.Output()
		out.Write(o)
		s.Sent(len(o))
		if !more {
			return out.String()
		}
		more = s.Resume()
	}
}

func TestSessionBytesInBytesOut(t *testing.T) {
	c := newTestCache(t)
	a, b := c.NewSession(), c.NewSession()
	defer a.Close()
	defer b.Close()
	tests := []struct {
		s        *Session
		in, want string
	}{
		{a, "set k 0 0 2\r\nhi\r\n", "STORED\r\n"},
		{b, "get k\r\n", "VALUE k 0 2\r\nhi\r\nEND\r\n"},
		{a, "se", ""},
		{a, "t k 0 0 1\r\nx\r\nget k\r\n", "STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n"},
		{b, "quit\r\n", ""},
	}
	for _, tt := range tests {
		if got := drain(tt.s, tt.s.Input([]byte(tt.in))); got != tt.want {
			t.Errorf("Input(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !b.Closed() {
		t.Error("session not closed after quit")
	}
}

// TestTickExpiresItems: time reaches the engine only through Tick.
func TestTickExpiresItems(t *testing.T) {
	c := newTestCache(t)
	s := c.NewSession()
	defer s.Close()
	drain(s, s.Input([]byte("set k 0 2 1\r\nx\r\n")))
	c.Tick(time.Unix(1_700_000_001, 0))
	if got := drain(s, s.Input([]byte("get k\r\n"))); got != "VALUE k 0 1\r\nx\r\nEND\r\n" {
		t.Fatalf("before expiry: %q", got)
	}
	c.Tick(time.Unix(1_700_000_003, 0))
	if got := drain(s, s.Input([]byte("get k\r\n"))); got != "END\r\n" {
		t.Fatalf("after expiry: %q", got)
	}
}

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
