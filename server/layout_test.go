package server

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/securecached/securecached/config"
	"go.uber.org/goleak"
)

func TestParseLayout(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
	}{
		{"two caches", `{"diggi": {"instance": "n1", "agents": [
			{"name": "gw", "kind": "gateway", "options": {"args": "-p 11211", "backend": "hot:11211"}},
			{"name": "hot", "kind": "securecached", "trusted": true, "options": {"args": "-m 256"}},
			{"name": "cold", "kind": "securecached", "options": {"args": "-m 1024"}}]},
			"trust": {"backend": "sim", "state_dir": "/tmp/x"}}`, ""},
		{"untrusted only, no trust section", `{"diggi": {"instance": "n1", "agents": [
			{"name": "gw", "kind": "gateway"}, {"name": "cache", "kind": "securecached"}]}}`, ""},
		{"unknown top-level key", `{"diggi": {"instance": "n1", "agents": []}, "extra": 1}`, "unknown field"},
		{"unknown agent field", `{"diggi": {"instance": "n1", "agents": [{"name": "gw", "kind": "gateway", "color": "red"}]}}`, "unknown field"},
		{"no diggi section", `{"trust": {}}`, "no \"diggi\" section"},
		{"unknown kind", `{"diggi": {"instance": "n1", "agents": [{"name": "gw", "kind": "gateway"}, {"name": "x", "kind": "redis"}]}}`, "unknown kind"},
		{"no gateway", `{"diggi": {"instance": "n1", "agents": [{"name": "c", "kind": "securecached"}]}}`, "no \"gateway\" agent"},
		{"trusted with none backend", `{"diggi": {"instance": "n1", "agents": [{"name": "gw", "kind": "gateway"},
			{"name": "c", "kind": "securecached", "trusted": true}]}, "trust": {"backend": "none"}}`, "trust backend is \"none\""},
		{"bad backend", `{"diggi": {"instance": "n1", "agents": [{"name": "gw", "kind": "gateway"}]}, "trust": {"backend": "sgx"}}`, "unknown trust backend"},
		{"not json", `{`, "bad deployment layout"},
		{"auto with a CA", `{"diggi": {"instance": "n1", "agents": [{"name": "gw", "kind": "gateway"},
			{"name": "c", "kind": "securecached", "trusted": true}]}, "trust": {"backend": "auto", "allow_sim": true,
			"ca": {"url": "https://ca:11299", "cert": "/etc/ca.pem", "names": ["cache.example"]}}}`, ""},
		{"tdx", `{"diggi": {"instance": "n1", "agents": [{"name": "gw", "kind": "gateway"}]}, "trust": {"backend": "tdx"}}`, ""},
		{"CA without a name", `{"diggi": {"instance": "n1", "agents": [{"name": "gw", "kind": "gateway"}]},
			"trust": {"ca": {"url": "https://ca:11299", "cert": "/etc/ca.pem"}}}`, "a CA needs url, cert and at least one name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLayout([]byte(tc.json))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrLayout) && !strings.Contains(err.Error(), "diggi") {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestDefaultLayout(t *testing.T) {
	args := []string{"-m", "128", "-p", "11311"}
	set, err := config.Parse(args)
	if err != nil {
		t.Fatal(err)
	}
	for _, untrusted := range []bool{false, true} {
		l := DefaultLayout(args, set, untrusted, "/state")
		if err := l.Validate(); err != nil {
			t.Fatal(err)
		}
		relays := Relays(set)
		if len(l.Diggi.Agents) != 1+relays || l.Diggi.Agents[0].Trusted == untrusted || l.Gateways() != relays {
			t.Fatalf("untrusted=%v: agents %+v, want the cache and %d gateways", untrusted, l.Diggi.Agents, relays)
		}
		for _, g := range l.Diggi.Agents[1:] {
			if got := g.Options["args"]; got != "-m 128 -p 11311" || g.Options["group"] != "gateway" {
				t.Fatalf("gateway %s: args %q, group %q", g.Name, got, g.Options["group"])
			}
		}
	}
}

// Relays is memcached's -t, bounded by the processors.
func TestRelays(t *testing.T) {
	for _, tc := range []struct{ threads, want int }{
		{1, 1},
		{runtime.NumCPU(), runtime.NumCPU()},
		{runtime.NumCPU() + 3, runtime.NumCPU()},
	} {
		if got := Relays(config.Settings{Threads: tc.threads}); got != tc.want {
			t.Errorf("-t %d on %d CPUs: %d relays, want %d", tc.threads, runtime.NumCPU(), got, tc.want)
		}
	}
}

func TestDefaultStateDir(t *testing.T) {
	tests := []struct {
		state, xdg, home, want string
	}{
		{"/run/sd", "/x", "/h", "/run/sd"},
		{"/a:/b", "", "/h", "/a"},
		{"", "/xdg", "/h", "/xdg/securecached"},
		{"", "", "/h", "/h/.local/state/securecached"},
	}
	for _, tc := range tests {
		t.Setenv("STATE_DIRECTORY", tc.state)
		t.Setenv("XDG_STATE_HOME", tc.xdg)
		t.Setenv("HOME", tc.home)
		got, err := DefaultStateDir()
		if err != nil || got != filepath.Clean(tc.want) {
			t.Errorf("STATE_DIRECTORY=%q XDG_STATE_HOME=%q HOME=%q: got %q, %v; want %q", tc.state, tc.xdg, tc.home, got, err, tc.want)
		}
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// FuzzParseLayout: any input gives a layout or an error, never a panic.
func FuzzParseLayout(f *testing.F) {
	f.Add([]byte(`{"diggi": {"instance": "n1", "agents": [{"name": "gw", "kind": "gateway"}, {"name": "cache", "kind": "securecached", "trusted": true}]}, "trust": {"backend": "sim"}}`))
	f.Add([]byte(`{"diggi": {}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLayout(data)
		if err == nil {
			if verr := l.Validate(); verr != nil {
				t.Fatalf("parsed layout fails validation: %v", verr)
			}
		}
	})
}
