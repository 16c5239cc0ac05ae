package conn

import (
	"slices"
	"strings"
	"testing"
)

// statNames extracts the names of "STAT <name> <value>" lines and checks
// the reply ends with END.
func statNames(t *testing.T, out string) []string {
	t.Helper()
	if !strings.HasSuffix(out, "END\r\n") {
		t.Fatalf("stats reply does not end with END: %q", out)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "END\r\n"), "\r\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 || f[0] != "STAT" {
			t.Fatalf("bad stats line %q", line)
		}
		names = append(names, f[1])
	}
	return names
}

func statValue(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\r\n") {
		if v, ok := strings.CutPrefix(line, "STAT "+name+" "); ok {
			return v
		}
	}
	t.Fatalf("no stat %q in %q", name, out)
	return ""
}

func TestStatsGeneral(t *testing.T) {
	r := newRig(t, Settings{})
	r.run("set a 0 0 1\r\n1\r\nget a\r\nget b\r\nmn\r\n", 0)
	out := r.run("stats\r\n", 0)
	names := statNames(t, out)
	for _, want := range []string{"pid", "uptime", "time", "version", "cmd_get", "cmd_meta", "bytes_read",
		"threads", "conn_yields", "hash_power_level", "evictions", "reclaimed"} {
		if !slices.Contains(names, want) {
			t.Errorf("stats lacks %q", want)
		}
	}
	for name, want := range map[string]string{"pid": "42", "version": "1.6.18", "cmd_get": "2", "get_hits": "1",
		"get_misses": "1", "cmd_set": "1", "curr_items": "1", "rusage_user": "0.001500", "threads": "4",
		"bytes_read": "41", "bytes_written": "38"} {
		if got := statValue(t, out, name); got != want {
			t.Errorf("stat %s = %q, want %q", name, got, want)
		}
	}
	if got := r.run("stats reset\r\n", 0); got != "RESET\r\n" {
		t.Fatalf("stats reset: %q", got)
	}
	if got := statValue(t, r.run("stats\r\n", 0), "cmd_get"); got != "0" {
		t.Errorf("cmd_get after reset = %q", got)
	}
}

func TestStatsFamilies(t *testing.T) {
	r := newRig(t, Settings{})
	r.run("set a 0 0 1\r\n1\r\n", 0)
	for _, cmd := range []string{"stats items\r\n", "stats slabs\r\n", "stats sizes\r\n", "stats settings\r\n",
		"stats conns\r\n", "stats cachedump 1 10\r\n", "stats detail dump\r\n"} {
		if out := r.run(cmd, 0); !strings.HasSuffix(out, "END\r\n") {
			t.Errorf("%q: reply %q does not end with END", cmd, out)
		}
	}
	tests := []struct{ in, want string }{
		{"stats nosuch\r\n", "ERROR\r\n"},
		{"stats detail\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\n"},
		{"stats detail on\r\n", "OK\r\n"},
		{"stats detail off\r\n", "OK\r\n"},
		{"stats cachedump\r\n", "CLIENT_ERROR bad command line\r\n"},
		{"stats cachedump x 1\r\n", "CLIENT_ERROR bad command line format\r\n"},
		{"stats cachedump 64 1\r\n", "CLIENT_ERROR Illegal slab id\r\n"},
	}
	for _, tt := range tests {
		if got := r.run(tt.in, 0); got != tt.want {
			t.Errorf("%q = %q, want %q", tt.in, got, tt.want)
		}
	}
	r2 := newRig(t, Settings{DumpDisabled: true})
	if got := r2.run("stats cachedump 1 1\r\n", 0); got != "CLIENT_ERROR stats cachedump not allowed\r\n" {
		t.Errorf("cachedump with -X: %q", got)
	}
}

func TestStatsConns(t *testing.T) {
	r := newRig(t, Settings{})
	r.host.conns = []ConnInfo{
		{ID: 23, Addr: "tcp:127.0.0.1:11211", State: "conn_listening", SecsSinceLastCmd: 5},
		{ID: 25, Addr: "tcp:127.0.0.1:40000", ListenAddr: "tcp:127.0.0.1:11211", State: r.conn.State()},
	}
	want := "STAT 23:addr tcp:127.0.0.1:11211\r\nSTAT 23:state conn_listening\r\nSTAT 23:secs_since_last_cmd 5\r\n" +
		"STAT 25:addr tcp:127.0.0.1:40000\r\nSTAT 25:listen_addr tcp:127.0.0.1:11211\r\nSTAT 25:state conn_new_cmd\r\n" +
		"STAT 25:secs_since_last_cmd 0\r\nEND\r\n"
	if got := r.run("stats conns\r\n", 0); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if s := r.conn.State(); s != "conn_waiting" {
		t.Errorf("idle state %q", s)
	}
	r.run("set k 0 0 10\r\nabc", 0)
	if s := r.conn.State(); s != "conn_nread" {
		t.Errorf("state while reading a value: %q", s)
	}
}

// TestStatsOrderMatchesMemcached checks that "stats" and "stats settings"
// name the same statistics in the same order as memcached 1.6.18.
func TestStatsOrderMatchesMemcached(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memcached")
	}
	addr := refServer(t)
	r := newRig(t, Settings{})
	for _, cmd := range []string{"stats\r\n", "stats settings\r\n"} {
		ref, _ := refRun(t, addr, cmd)
		want := statNames(t, ref)
		got := statNames(t, r.run(cmd, 0))
		if !slices.Equal(got, want) {
			t.Errorf("%q names differ:\ngot  %q\nwant %q", cmd, got, want)
		}
	}
}

func TestBinaryStats(t *testing.T) {
	r := newRig(t, Settings{})
	out := decodeBin(r.run(breq(0x10, "", "", ""), 0))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.Contains(lines[0], `key="pid" val="42"`) {
		t.Errorf("first stat %q", lines[0])
	}
	if last := lines[len(lines)-1]; last != `0x10/0x0 cas=0 ext= key="" val=""` {
		t.Errorf("terminator %q", last)
	}
	ref := newRig(t, Settings{})
	text := statNames(t, ref.run("stats settings\r\n", 0))
	bin := strings.Split(strings.TrimSuffix(decodeBin(r.run(breq(0x10, "settings", "", ""), 0)), "\n"), "\n")
	if len(bin) != len(text)+1 {
		t.Errorf("binary settings: %d packets for %d stats", len(bin), len(text))
	}
	if got := decodeBin(r.run(breq(0x10, "detail on", "", ""), 0)); got != "0x10/0x0 cas=0 ext= key=\"\" val=\"\"\n" {
		t.Errorf("detail on: %s", got)
	}
}

func TestStatsStoreTooLarge(t *testing.T) {
	r := newRig(t, Settings{})
	r.run("set k 0 0 2000000 noreply\r\n"+strings.Repeat("x", 2000002)+"ms k 2000000 q\r\n"+strings.Repeat("x", 2000002), 0)
	if got := statValue(t, r.run("stats\r\n", 0), "store_too_large"); got != "2" {
		t.Fatalf("store_too_large = %s, want 2", got)
	}
}

func TestCmdMetaCountsOnlyMe(t *testing.T) {
	r := newRig(t, Settings{})
	r.run("mg k v\r\nms k 1\r\nx\r\nmd k\r\nma k\r\nmn\r\n", 0)
	if got := statValue(t, r.run("stats\r\n", 0), "cmd_meta"); got != "0" {
		t.Fatalf("cmd_meta = %s, want 0 (memcached 1.6.18 counts only me)", got)
	}
}
