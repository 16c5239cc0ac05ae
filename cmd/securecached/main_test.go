package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/server"
)

func TestRunExitsEarly(t *testing.T) {
	t.Setenv("STATE_DIRECTORY", t.TempDir())
	badLayout := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(badLayout, []byte(`{"diggi": {"instance": "x", "agents": []}, "surprise": 1}`), 0o600)
	openState := t.TempDir()
	os.Chmod(openState, 0o775)
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"--state-dir", openState, "-l", "127.0.0.1:0"}, exitOSErr, "", openState + " is mode 0775"},
		{[]string{"-h"}, 0, "--state-dir", ""},
		{[]string{"-V"}, 0, "securecached 0.1.0 (memcached 1.6 compatible)\n", ""},
		{[]string{"-i"}, 0, "Built with go", ""},
		{[]string{"-N", "0"}, exitUsage, "", "NAPI"},
		{[]string{"-B", "http"}, exitUsage, "", "Invalid value for binding protocol: http"},
		{[]string{"-I", "200m", "-m", "1024", "-l", "127.0.0.1:0"}, exitUsage, "", "higher than 128 megabytes"},
		{[]string{"-Y", "/nonexistent/auth", "-l", "127.0.0.1:0"}, exitOSErr, "", "could not load auth file"},
		{[]string{"--untrusted", "-Z", "-l", "127.0.0.1:0"}, exitOSErr, "", "ssl_chain_cert"},
		{[]string{"--config"}, exitUsage, "", "--config needs a value"},
		{[]string{"--config", "/nonexistent.json"}, exitUsage, "", "configuration file"},
		{[]string{"--config", badLayout}, exitUsage, "", "unknown field"},
		{[]string{"--config", badLayout, "--untrusted"}, exitUsage, "", "per agent"},
		{[]string{"--config", badLayout, "-Z"}, exitUsage, "", "per agent"},
		{[]string{"-Z", "-o", "ssl_key=/k.pem", "-l", "127.0.0.1:0"}, exitUsage, "", "given together"},
		{[]string{"--untrusted=yes"}, exitUsage, "", "takes no value"},
		{[]string{"attest"}, 2, "", "Usage: securecached attest"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(tt.args, &out, &errb)
		if code != tt.code {
			t.Errorf("run(%v) = %d, want %d (stderr %q)", tt.args, code, tt.code, errb.String())
		}
		if !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) {
			t.Errorf("run(%v): stdout %q stderr %q, want %q / %q", tt.args, out.String(), errb.String(), tt.out, tt.err)
		}
	}
}

func TestSplitOwnFlags(t *testing.T) {
	tests := []struct {
		args []string
		own  ownFlags
		rest []string
	}{
		{[]string{"-m", "64"}, ownFlags{}, []string{"-m", "64"}},
		{[]string{"--untrusted", "-p", "1", "-Z"}, ownFlags{untrusted: true}, []string{"-p", "1", "-Z"}},
		{[]string{"--config", "a.json", "--state-dir=/s", "-v"}, ownFlags{configFile: "a.json", stateDir: "/s"}, []string{"-v"}},
		{[]string{"--config=b.json", "--enable-ssl"}, ownFlags{configFile: "b.json"}, []string{"--enable-ssl"}},
		{[]string{"--backend", "auto", "--allow-sim", "-Z", "--ca-url=https://ca:1", "--ca-cert", "ca.pem", "--ca-name", "a,1.2.3.4", "--ca-name=b"},
			ownFlags{backend: "auto", allowSim: true, ca: server.CAOptions{URL: "https://ca:1", Cert: "ca.pem", Names: []string{"a", "1.2.3.4", "b"}}}, []string{"-Z"}},
	}
	for _, tt := range tests {
		own, rest, err := splitOwnFlags(tt.args)
		if err != nil || !reflect.DeepEqual(own, tt.own) || !reflect.DeepEqual(rest, tt.rest) {
			t.Errorf("splitOwnFlags(%q) = %+v, %q, %v; want %+v, %q", tt.args, own, rest, err, tt.own, tt.rest)
		}
	}
	for _, bad := range [][]string{{"--state-dir"}, {"--state-dir="}, {"--config"}, {"--untrusted=1"}, {"--allow-sim=yes"}, {"--backend"}} {
		if _, _, err := splitOwnFlags(bad); err == nil {
			t.Errorf("splitOwnFlags(%q) accepted", bad)
		}
	}
}

func TestThreadsFollowCacheAgentsAndRelays(t *testing.T) {
	two, err := server.ParseLayout([]byte(`{"diggi": {"instance": "n", "agents": [{"name": "gw", "kind": "gateway"},
		{"name": "a", "kind": "securecached"}, {"name": "b", "kind": "securecached"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	relays, err := server.ParseLayout([]byte(`{"diggi": {"instance": "n", "agents": [{"name": "a", "kind": "securecached"},
		{"name": "g1", "kind": "gateway", "options": {"group": "g"}}, {"name": "g2", "kind": "gateway", "options": {"group": "g"}},
		{"name": "g3", "kind": "gateway", "options": {"group": "g"}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env    string
		layout server.Layout
		want   int
	}{
		{"", server.DefaultLayout(nil, config.Defaults(), false, ""), max(2, server.Relays(config.Defaults()))},
		{"", two, 3},
		{"", relays, 3},
		{"3", two, 3},
		{"junk", two, 3},
	}
	for _, tt := range tests {
		t.Setenv("GOMAXPROCS", tt.env)
		if got := threads(tt.layout); got != tt.want {
			t.Errorf("GOMAXPROCS=%q, %d cache agents: threads = %d, want %d", tt.env, tt.layout.CacheAgents(), got, tt.want)
		}
	}
}

func TestChooseLayout(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.json")
	os.WriteFile(good, []byte(`{"diggi": {"instance": "n", "agents": [{"name": "gw", "kind": "gateway"},
		{"name": "a", "kind": "securecached"}]}, "trust": {"backend": "sim", "state_dir": "/from/file"}}`), 0o600)
	tests := []struct {
		name     string
		args     []string
		stateDir string // --state-dir
		config   string
		wantDir  string
		wantTLS  bool
	}{
		{"defaults", nil, "", "", "", false},
		{"-Z on the command line", []string{"-Z"}, "", "", "", true},
		{"-o state_dir", []string{"-o", "state_dir=/o"}, "", "", "/o", false},
		{"--state-dir wins over -o state_dir", []string{"-o", "state_dir=/o"}, "/flag", "", "/flag", false},
		{"file's state_dir", nil, "", good, "/from/file", false},
		{"-o state_dir overrides the file's", []string{"-o", "state_dir=/o"}, "", good, "/o", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := config.Parse(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			l, err := chooseLayout(ownFlags{configFile: tt.config, stateDir: tt.stateDir}, tt.args, set)
			if err != nil {
				t.Fatal(err)
			}
			if l.Trust.StateDir != tt.wantDir {
				t.Errorf("state dir %q, want %q", l.Trust.StateDir, tt.wantDir)
			}
			if err := l.Validate(); err != nil {
				t.Errorf("layout does not validate: %v", err)
			}
			if tt.config != "" {
				return
			}
			cache := l.Diggi.Agents[0]
			if got := cache.Options[cacheagent.OptTLS] == "true"; got != tt.wantTLS {
				t.Errorf("cache agent options %v: tls %v, want %v", cache.Options, got, tt.wantTLS)
			}
		})
	}
}

// TestMemoryLimitFromConnLimit: the collector's limit follows -c and
// replaces GOGC's pacing, and GOMEMLIMIT in the environment wins.
func TestMemoryLimitFromConnLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	set, err := config.Parse([]string{"-c", "1024"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := setMemoryLimit(set), int64(64<<20+1024*64<<10); got != want || debug.SetMemoryLimit(-1) != want {
		t.Fatalf("limit %d, runtime %d, want %d", got, debug.SetMemoryLimit(-1), want)
	}
	if gc := debug.SetGCPercent(100); gc != -1 {
		t.Fatalf("GOGC %d, want off", gc)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	if got := setMemoryLimit(set); got != 0 {
		t.Fatalf("with GOMEMLIMIT set: limit %d, want untouched", got)
	}
}

// TestChooseLayoutTrustFlags: --backend, --allow-sim and the --ca-* flags
// reach the layout, from the command line or over a configuration file,
// and bad combinations are refused.
func TestChooseLayoutTrustFlags(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.json")
	os.WriteFile(good, []byte(`{"diggi": {"instance": "n", "agents": [{"name": "gw", "kind": "gateway"},
		{"name": "a", "kind": "securecached", "trusted": true}]}, "trust": {"backend": "sim"}}`), 0o600)
	ca := server.CAOptions{URL: "https://ca:1", Cert: "ca.pem", Names: []string{"cache"}}
	for _, file := range []string{"", good} {
		l, err := chooseLayout(ownFlags{configFile: file, backend: "auto", allowSim: true, ca: ca}, nil, config.Settings{})
		if err != nil {
			t.Fatalf("config %q: %v", file, err)
		}
		if l.Trust.Backend != "auto" || !l.Trust.AllowSim || l.Trust.CA == nil || l.Trust.CA.URL != ca.URL {
			t.Fatalf("config %q: trust options %+v", file, l.Trust)
		}
	}
	for name, own := range map[string]ownFlags{
		"unknown backend":           {backend: "sgx"},
		"--backend and --untrusted": {backend: "auto", untrusted: true},
		"CA without names":          {ca: server.CAOptions{URL: "https://ca:1", Cert: "ca.pem"}},
	} {
		if _, err := chooseLayout(own, nil, config.Settings{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
