package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	s, err := Parse(nil)
	if err != nil {
		t.Fatalf("Parse(nil): %v", err)
	}
	addrs, err := s.ListenAddrs()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(addrs, ","); got != "127.0.0.1:11211" {
		t.Errorf("listen = %s, want 127.0.0.1:11211", got)
	}
	if s.MemoryLimit != 64<<20 || s.ConnLimit != 1024 || s.Threads != 4 || s.MaxItemSize != 1<<20 ||
		s.Protocol != ProtocolAuto || s.MaxReqsPerEvent != 20 || s.ListenBacklog != 1024 ||
		s.UnixMask != 0o700 || s.SlabGrowthFactor != 1.25 || s.SlabMinSize != 48 || !s.Extended.MaxConnsFast {
		t.Errorf("defaults differ from memcached's: %+v", s)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings on an empty command line: %q", s.Warnings)
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		args  string
		check func(Settings) bool
	}{
		{"port", "-p 12345", func(s Settings) bool { return s.Port == 12345 }},
		{"port attached", "-p12345", func(s Settings) bool { return s.Port == 12345 }},
		{"long port", "--port=2000", func(s Settings) bool { return s.Port == 2000 }},
		{"listen list", "-l 127.0.0.1,::1 -p 7", func(s Settings) bool {
			a, _ := s.ListenAddrs()
			return strings.Join(a, " ") == "127.0.0.1:7 [::1]:7"
		}},
		{"listen repeated with ports", "-l 127.0.0.1:9000 -l [::1]:9001 -l localhost", func(s Settings) bool {
			a, _ := s.ListenAddrs()
			return strings.Join(a, " ") == "127.0.0.1:9000 [::1]:9001 localhost:11211"
		}},
		{"unix socket and mask", "-s /tmp/x.sock -a 770", func(s Settings) bool { return s.UnixSocket == "/tmp/x.sock" && s.UnixMask == 0o770 }},
		{"udp off", "-U 0", func(s Settings) bool { return s.UDPPort == 0 }},
		{"memory", "-m 2048", func(s Settings) bool { return s.MemoryLimit == 2048<<20 }},
		{"no evictions", "-M", func(s Settings) bool { return s.DisableEvictions }},
		{"large pages", "-L", func(s Settings) bool { return s.LargePages }},
		{"conns", "-c 10", func(s Settings) bool { return s.ConnLimit == 10 }},
		{"threads", "-t 2", func(s Settings) bool { return s.Threads == 2 }},
		{"item size k", "-I 1k", func(s Settings) bool { return s.MaxItemSize == 1024 }},
		{"item size m", "-I 2m", func(s Settings) bool { return s.MaxItemSize == 2<<20 }},
		{"item size upper", "-I 32M -m 64", func(s Settings) bool { return s.MaxItemSize == 32<<20 }},
		{"item size bytes", "-I 4096", func(s Settings) bool { return s.MaxItemSize == 4096 }},
		{"factor", "-f 1.5 -n 96", func(s Settings) bool { return s.SlabGrowthFactor == 1.5 && s.SlabMinSize == 96 }},
		{"verbose", "-vv", func(s Settings) bool { return s.Verbose == 2 }},
		{"verbose three", "-v -v -v", func(s Settings) bool { return s.Verbose == 3 }},
		{"verbose capped", "-vvvvv", func(s Settings) bool { return s.Verbose == 3 }},
		{"protocol", "-B binary", func(s Settings) bool { return s.Protocol == ProtocolBinary }},
		{"booleans", "-C -F -A -X", func(s Settings) bool {
			return s.DisableCAS && s.DisableFlushAll && s.EnableShutdown && s.DisableDumping
		}},
		{"reqs backlog", "-R 5 -b 64", func(s Settings) bool { return s.MaxReqsPerEvent == 5 && s.ListenBacklog == 64 }},
		{"auth", "-Y /etc/auth", func(s Settings) bool { return s.AuthFile == "/etc/auth" }},
		{"disable watch", "-W", func(s Settings) bool { return s.DisableWatch }},
		{"temporary ttl", "-o temporary_ttl=30", func(s Settings) bool {
			return s.Extended.TempLRU && s.Extended.TemporaryTTL == 30 && len(s.Warnings) == 0
		}},
		{"disable watch long", "--disable-watch", func(s Settings) bool { return s.DisableWatch }},
		{"napi ids", "-N 4", func(s Settings) bool { return len(s.Warnings) == 1 && strings.Contains(s.Warnings[0], "napi_ids") }},
		{"user", "-u nobody", func(s Settings) bool { return s.User == "nobody" }},
		{"delimiter", "-D /", func(s Settings) bool { return s.PrefixDelimiter == '/' }},
		{"extended", "-o hashpower=16,idle_timeout=5 -o no_maxconns_fast", func(s Settings) bool {
			return s.Extended.HashPower == 16 && s.Extended.IdleTimeout == 5*time.Second && !s.Extended.MaxConnsFast
		}},
		{"extended lru", "-o hot_lru_pct=10,warm_lru_pct=30,hot_max_factor=0.5,warm_max_factor=3", func(s Settings) bool {
			e := s.Extended
			return e.HotLRUPct == 10 && e.WarmLRUPct == 30 && e.HotMaxFactor == 0.5 && e.WarmMaxFactor == 3
		}},
		{"track sizes", "-o track_sizes", func(s Settings) bool { return s.Extended.TrackSizes }},
		{"slab defaults", "", func(s Settings) bool {
			e := s.Extended
			return e.SlabReassign && e.SlabAutomove == 1 && e.AutomoveRatio == 0.8 && e.AutomoveWindow == 30 && e.SealPolicy == SealMeasurement
		}},
		{"slab rebalancer", "-o no_slab_reassign,slab_automove=2,slab_automove_ratio=0.5,slab_automove_window=10", func(s Settings) bool {
			e := s.Extended
			return !e.SlabReassign && e.SlabAutomove == 2 && e.AutomoveRatio == 0.5 && e.AutomoveWindow == 10
		}},
		{"bare slab_automove", "-o slab_automove=0 -o slab_automove", func(s Settings) bool { return s.Extended.SlabAutomove == 1 }},
		{"memory file", "-e /var/lib/c.sealed -o seal_policy=signer", func(s Settings) bool {
			return s.MemoryFile == "/var/lib/c.sealed" && s.Extended.SealPolicy == SealSigner
		}},
		{"relay default", "", func(s Settings) bool { return s.Extended.Relay == RelayEpoll }},
		{"relay goroutine", "-o relay=goroutine", func(s Settings) bool { return s.Extended.Relay == RelayGoroutine }},
		{"ssl options stored", "-o ssl_chain_cert=/c.pem,ssl_key=/k.pem,ssl_verify_mode=2,ssl_session_cache", func(s Settings) bool {
			e := s.Extended
			return e.SSLChainCert == "/c.pem" && e.SSLKey == "/k.pem" && e.SSLVerifyMode == 2 && e.SSLSessionCache
		}},
		{"tls with RA-TLS certificate", "-Z", func(s Settings) bool {
			return s.EnableSSL && s.Extended.SSLChainCert == "" && s.Extended.SSLKeyFormat == "PEM"
		}},
		{"tls with certificate", "--enable-ssl -o ssl_chain_cert=/c.pem,ssl_key=/k.pem,ssl_keyformat=PEM", func(s Settings) bool {
			return s.EnableSSL && s.Extended.SSLChainCert == "/c.pem" && s.Extended.SSLKey == "/k.pem"
		}},
		{"ssl keys ignored without -Z", "-o ssl_key=/k.pem,ssl_keyformat=DER", func(s Settings) bool {
			return !s.EnableSSL && s.Extended.SSLKeyFormat == "DER"
		}},
		{"state dir", "-o state_dir=/var/lib/sc", func(s Settings) bool { return s.Extended.StateDir == "/var/lib/sc" }},
		{"tcp off with unix", "-p 0 -s /tmp/s", func(s Settings) bool { return s.Port == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(strings.Fields(tt.args))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if !tt.check(s) {
				t.Errorf("Parse(%q) = %+v", tt.args, s)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		args string
		want string // part of the message
	}{
		{"-l 999.1.1.1", "Invalid listen address"},
		{"-l 127.0.0.1:99999", "invalid port"},
		{"-l [::1", "missing ']'"},
		{"-l ::zz", "not an IPv6 address"},
		{"-l bad_host!", "not an IP address or host name"},
		{"-B http", "Invalid value for binding protocol: http"},
		{"-c 0", "Maximum connections must be greater than 0"},
		{"-c -3", "Maximum connections must be greater than 0"},
		{"-c abc", "invalid argument"},
		{"-t 0", "Number of threads must be greater than 0"},
		{"-t 1000", "at most 256"},
		{"-I 512", "Item max size cannot be less than 1024 bytes."},
		{"-I 129m -m 1024", "higher than 128 megabytes"},
		{"-N 0", "NAPI IDs must be greater than 0"},
		{"-I 3x", "Invalid item max size"},
		{"-I 2m -m 1", "Cannot set item size limit higher than 1/2 of memory max."},
		{"-I 2000m -m 100000", "higher than 128 megabytes"},
		{"-f 1", "Factor must be greater than 1"},
		{"-f 0.5", "Factor must be greater than 1"},
		{"-n 0", "Chunk size must be greater than 0"},
		{"-m 0", "Memory limit must be greater than 0"},
		{"-R 0", "Number of requests per event must be greater than 0"},
		{"-b 0", "Listen backlog must be greater than 0"},
		{"-p 70000", "ERROR: Invalid port number 70000."},
		{"-U 11211", "UDP is not supported"},
		{"-Z -o ssl_chain_cert=/c.pem", "ssl_chain_cert and ssl_key must be given together"},
		{"-Z -o ssl_key=/k.pem", "ssl_chain_cert and ssl_key must be given together"},
		{"-Z -o ssl_keyformat=DER", `ssl_keyformat "DER" is not supported`},
		{"-o state_dir", "needs a value"},
		{"-d", "daemon mode) is not supported"},
		{"-S", "SASL"},
		{"-a 999", "Invalid unix socket mask"},
		{"-D ab", "single character"},
		{"-o hashpower=70", "Initial hashtable multiplier of 70 is too high"},
		{"-o hashpower=5", "Initial hashtable multiplier of 5 is too low"},
		{"-o hashpower=x", "needs an integer"},
		{"-o idle_timeout=-1", "idle_timeout must be 0"},
		{"-o hot_lru_pct=90", "hot_lru_pct must be > 1 and < 80"},
		{"-o hot_lru_pct=50,warm_lru_pct=50", "cannot be more than 80%"},
		{"-o ssl_verify_mode=7", "ssl_verify_mode must be"},
		{"-o ssl_key", "needs a value"},
		{"-o track_sizes=1", "takes no value"},
		{"-o slab_automove=3", "slab_automove must be between 0 and 2"},
		{"-o slab_automove_ratio=1.5", "slab_automove_ratio must be > 0 and < 1"},
		{"-o slab_automove_window=2", "slab_automove_window must be > 2"},
		{"-o seal_policy=anyone", "seal_policy must be measurement or signer"},
		{"-o relay=threads", "-o relay must be epoll or goroutine"},
		{"-x", "unknown shorthand flag"},
		{"--bogus", "unknown flag"},
		{"-u", "needs an argument"},
		{"stray", "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			_, err := Parse(strings.Fields(tt.args))
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error containing %q", tt.args, tt.want)
			}
			if !errors.Is(err, ErrUsage) {
				t.Errorf("Parse(%q) error %v does not match ErrUsage", tt.args, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %q, want it to contain %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		args string
		want []string
	}{
		{"-o bogus=1", []string{"-o bogus=1: unknown extended option; ignored"}},
		{"-o modern,lru_crawler -o frob", []string{"-o modern: memcached option has no effect", "-o lru_crawler: memcached option has no effect", "-o frob: unknown"}},
		{"-k -L", []string{"--lock-memory has no effect"}},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			s, err := Parse(strings.Fields(tt.args))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if len(s.Warnings) != len(tt.want) {
				t.Fatalf("warnings = %q, want %d", s.Warnings, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(s.Warnings[i], w) {
					t.Errorf("warning %d = %q, want prefix %q", i, s.Warnings[i], w)
				}
			}
		})
	}
}

func TestParseHelpVersion(t *testing.T) {
	tests := []struct {
		args          string
		help, version bool
	}{
		{"-h", true, false},
		{"--help", true, false},
		{"-V", false, true},
		{"--version -c 0", false, true}, // memcached exits on -V before validating
		{"-h -B http", true, false},
	}
	if s, err := Parse([]string{"-i", "-c", "0"}); err != nil || !s.ShowLicense {
		t.Errorf("Parse(-i -c 0) = %+v, %v; want ShowLicense, as memcached prints it before validating", s, err)
	}
	for _, tt := range tests {
		s, err := Parse(strings.Fields(tt.args))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.args, err)
		}
		if s.ShowHelp != tt.help || s.ShowVersion != tt.version {
			t.Errorf("Parse(%q): help=%v version=%v, want %v %v", tt.args, s.ShowHelp, s.ShowVersion, tt.help, tt.version)
		}
	}
}

func TestUsageMentionsEveryFlag(t *testing.T) {
	var b bytes.Buffer
	Usage(&b)
	for _, want := range []string{"--port", "--listen", "--unix-socket", "--unix-mask", "--udp-port", "--memory-limit",
		"--disable-evictions", "--conn-limit", "--threads", "--max-item-size", "--slab-growth-factor", "--slab-min-size",
		"--verbose", "--protocol", "--disable-cas", "--disable-flush-all", "--enable-shutdown", "--max-reqs-per-event",
		"--listen-backlog", "--auth-file", "--version", "--help", "--user", "--daemon", "--extended", "--enable-ssl",
		"--disable-watch", "--license", "--napi_ids", "max 128m", "12..30",
		"idle_timeout", "hashpower", "GOMAXPROCS", "RA-TLS", "ssl_chain_cert", "state_dir", VersionLine} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("usage does not mention %q", want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1024", 1024, true}, {"1k", 1024, true}, {"1K", 1024, true}, {"1m", 1 << 20, true},
		{"64M", 64 << 20, true}, {"0", 0, true}, {"", 0, false}, {"k", 0, false}, {"1g", 0, false},
		{"-1k", 0, false}, {"1.5m", 0, false}, {"99999999999999m", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{"-p 1 -l 127.0.0.1", "-o hashpower=16,idle_timeout=3", "-I 1k", "-l [::1]:5", "-vvv -B ascii"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, args string) {
		s, err := Parse(strings.Fields(args))
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("error %v does not match ErrUsage", err)
			}
			return
		}
		if s.ShowHelp || s.ShowVersion || s.ShowLicense {
			return // printed before validation, as memcached does
		}
		if s.MaxItemSize < 1024 || int64(s.MaxItemSize) > s.MemoryLimit/2 || s.ConnLimit <= 0 || s.Threads <= 0 {
			t.Fatalf("Parse(%q) accepted invalid settings %+v", args, s)
		}
	})
}
