package config

import (
	"os"
	"time"
)

// Protocol selects which wire protocols a listener accepts (-B).
type Protocol string

// The values -B accepts; memcached's spelling.
const (
	ProtocolAuto   Protocol = "auto"
	ProtocolASCII  Protocol = "ascii"
	ProtocolBinary Protocol = "binary"
)

// Version is what -V prints after the program name.
const Version = "0.1.0"

// VersionLine is the whole -V output line: memcached prints "memcached 1.6.18";
// we say what we are and which memcached we follow.
const VersionLine = "securecached " + Version + " (memcached 1.6 compatible)"

// Settings is the validated result of memcached's command line. Field names
// follow memcached's long options; each field's comment gives its flag.
type Settings struct {
	Port        int      // -p: TCP port; 0 disables TCP
	Listen      []string // -l: interfaces, each "host" or "host:port"; split on commas
	UnixSocket  string   // -s: path of a unix socket; disables TCP like memcached
	UnixMask    os.FileMode
	UDPPort     int   // -U: only 0 (off) is accepted, UDP is not served
	MemoryLimit int64 // -m, in bytes

	DisableEvictions bool    // -M
	LargePages       bool    // -L: preallocate -m as one huge-page chunk
	ConnLimit        int     // -c
	Threads          int     // -t: memcached's worker threads; reported by "stats", each cache agent is one thread
	MaxItemSize      int     // -I, in bytes
	SlabGrowthFactor float64 // -f
	SlabMinSize      int     // -n: minimum key+value+flags space of the smallest chunk
	Verbose          int     // -v, -vv, -vvv
	Protocol         Protocol
	DisableCAS       bool // -C
	DisableFlushAll  bool // -F
	DisableDumping   bool // -X
	DisableWatch     bool // -W: refuse the watch command
	EnableShutdown   bool // -A
	MaxReqsPerEvent  int  // -R
	ListenBacklog    int  // -b
	AuthFile         string
	User             string // -u: accepted for compatibility; we never change user
	PrefixDelimiter  byte   // -D
	EnableSSL        bool   // -Z: TLS terminated inside the cache agent (ssl_* in Extended)
	MemoryFile       string // -e: the sealed warm-restart file (memcached's restartable cache)

	Extended Extended // -o

	// Warnings are non-fatal remarks about the command line (unknown -o keys,
	// options that have no effect here); the caller prints them to stderr.
	Warnings []string

	ShowHelp    bool // -h
	ShowVersion bool // -V
	ShowLicense bool // -i
}

// Extended holds the -o key=value options SecureCached acts on. memcached's
// other -o keys are accepted with a warning (see extended.go).
type Extended struct {
	HashPower       int           // hashpower: initial log2 of the hash table size; 0 lets it start small
	IdleTimeout     time.Duration // idle_timeout: close connections idle this long; 0 never
	MaxConnsFast    bool          // maxconns_fast: at -c, accept, send an error line and close
	HotLRUPct       int           // hot_lru_pct
	WarmLRUPct      int           // warm_lru_pct
	HotMaxFactor    float64       // hot_max_factor
	WarmMaxFactor   float64       // warm_max_factor
	TrackSizes      bool          // track_sizes: enable "stats sizes"
	SlabReassign    bool          // slab_reassign (default on), no_slab_reassign
	SlabAutomove    int           // slab_automove: 0, 1 (default; bare key) or 2
	AutomoveRatio   float64       // slab_automove_ratio
	AutomoveWindow  int           // slab_automove_window, in seconds
	SealPolicy      string        // seal_policy: SealMeasurement or SealSigner, for -e (securecached's own key)
	TempLRU         bool          // temporary_ttl was given: the TEMP LRU is on
	TemporaryTTL    int           // temporary_ttl: TTLs up to it go to the TEMP LRU
	Relay           string        // relay: RelayEpoll or RelayGoroutine (securecached's own key)
	StateDir        string        // state_dir: sim platform identity directory (securecached's own key)
	SSLChainCert    string        // ssl_chain_cert
	SSLKey          string        // ssl_key
	SSLKeyFormat    string        // ssl_keyformat
	SSLVerifyMode   int           // ssl_verify_mode: 0 none, 1 request, 2 require, 3 once
	SSLCiphers      string        // ssl_ciphers
	SSLCACert       string        // ssl_ca_cert
	SSLMinVersion   int           // ssl_min_version: 0 tls1.0 .. 3 tls1.3
	SSLSessionCache bool          // ssl_session_cache
	SSLWBufSize     int           // ssl_wbuf_size, in bytes
	SSLKernelTLS    bool          // ssl_kernel_tls
}

// Identities -e's file can be sealed to (-o seal_policy=...).
const (
	// SealMeasurement: only the same binary and configuration on the same
	// platform can read the file.
	SealMeasurement = "measurement"
	// SealSigner: any build from the same signer on the same platform can.
	SealSigner = "signer"
)

// Relays securecached can put between sockets and the cache (-o relay=...).
const (
	// RelayEpoll serves kernel sockets from the gateway's one epoll event
	// loop (Linux; elsewhere the goroutine relay is used).
	RelayEpoll = "epoll"
	// RelayGoroutine serves any net.Listener with a goroutine per client,
	// the shape that also runs over Diggi sockets.
	RelayGoroutine = "goroutine"
)

// Defaults returns memcached 1.6's defaults, except that we listen on
// 127.0.0.1 rather than every interface: a cache without authentication
// should not be reachable from the network unless someone asks for it.
func Defaults() Settings {
	return Settings{
		Port:             11211,
		Listen:           []string{"127.0.0.1"},
		UnixMask:         0o700,
		MemoryLimit:      64 << 20,
		ConnLimit:        1024,
		Threads:          4,
		MaxItemSize:      1 << 20,
		SlabGrowthFactor: 1.25,
		SlabMinSize:      48,
		Protocol:         ProtocolAuto,
		MaxReqsPerEvent:  20,
		ListenBacklog:    1024,
		PrefixDelimiter:  ':',
		Extended: Extended{
			HotLRUPct:     20,
			WarmLRUPct:    40,
			HotMaxFactor:  0.2,
			WarmMaxFactor: 2.0,
			MaxConnsFast:  true,
			Relay:         RelayEpoll,
			SSLKeyFormat:  "PEM",
			SSLWBufSize:   16 << 10,
			SSLMinVersion: 2,

			SlabReassign:   true,
			SlabAutomove:   1,
			AutomoveRatio:  0.8,
			AutomoveWindow: 30,
			SealPolicy:     SealMeasurement,
		},
	}
}
