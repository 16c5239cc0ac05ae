package conn

import (
	"sync/atomic"
	"time"
)

// Protocol is memcached's -B: which protocol a connection speaks.
type Protocol uint8

// Protocols. ProtocolAuto decides per connection on the first byte: 0x80
// (the binary request magic) selects binary, anything else ASCII.
const (
	ProtocolAuto Protocol = iota
	ProtocolASCII
	ProtocolBinary
)

// String returns the name memcached's "stats settings" uses.
func (p Protocol) String() string {
	switch p {
	case ProtocolASCII:
		return "ascii"
	case ProtocolBinary:
		return "binary"
	}
	return "auto-negotiate"
}

// DefaultVersion is the memcached version SecureCached reports, so clients
// that branch on it behave as with memcached 1.6.18.
const DefaultVersion = "1.6.18"

// DefaultReqsPerEvent is memcached's default -R.
const DefaultReqsPerEvent = 20

// Settings are the per-server options a connection obeys. The zero value is
// memcached's defaults.
type Settings struct {
	Protocol        Protocol // -B
	ReqsPerEvent    int      // -R; 0 means DefaultReqsPerEvent
	ShutdownEnabled bool     // -A
	FlushDisabled   bool     // -F
	DumpDisabled    bool     // -X: refuse "stats cachedump" and metadump
	WatchDisabled   bool     // -W: refuse "watch"
	// Trusted says the cache agent runs in an enclave: keys must not leave
	// it in clear, so "watch" and "lru_crawler metadump" are refused on a
	// connection that is not TLS (see Conn.SetTLS).
	Trusted    bool
	ASCIIAuth  bool   // -Y: clients authenticate with Host.Authenticate
	Version    string // "" means DefaultVersion
	MemoryFile string // -e, for "stats settings"
}

// Shared holds the server-wide counters every connection of a server adds
// to. Use one value per server and never copy it.
type Shared struct {
	BytesRead    atomic.Uint64
	BytesWritten atomic.Uint64
	// CmdMeta is memcached's cmd_meta, which 1.6.18 counts for "me" only.
	CmdMeta    atomic.Uint64
	AuthCmds   atomic.Uint64
	AuthErrors atomic.Uint64
	ConnYields atomic.Uint64

	watch watchHub // the server's watchers; used under the engine's owner only
}

// reset clears the counters "stats reset" clears.
func (s *Shared) reset() {
	s.BytesRead.Store(0)
	s.BytesWritten.Store(0)
	s.CmdMeta.Store(0)
	s.AuthCmds.Store(0)
	s.AuthErrors.Store(0)
	s.ConnYields.Store(0)
}

// Host is what a connection asks of the server it runs in. Its methods are
// called only from inside Feed and Process.
type Host interface {
	// ServerStats returns the process and listener facts of "stats".
	ServerStats() ServerStats
	// ServerSettings returns the "stats settings" values only the server
	// knows.
	ServerSettings() ServerSettings
	// Conns lists the server's connections (listeners included) for
	// "stats conns".
	Conns() []ConnInfo
	// Authenticate checks a user and password against the -Y auth file.
	Authenticate(user, password []byte) bool
	// Shutdown stops the server ("shutdown", or "shutdown graceful").
	Shutdown(graceful bool)
	// SetVerbosity sets the log verbosity ("verbosity N", capped at 2).
	SetVerbosity(level uint32)
}

// ServerStats are the server-level values of memcached's "stats".
type ServerStats struct {
	Pid                    int
	Libevent               string
	PointerSize            int
	RusageUser             time.Duration
	RusageSystem           time.Duration
	MaxConnections         uint64
	CurrConnections        uint64
	TotalConnections       uint64
	RejectedConnections    uint64
	ConnectionStructures   uint64
	ReservedFds            uint64
	AcceptingConns         bool
	ListenDisabledNum      uint64
	TimeInListenDisabledUs uint64
	Threads                int
	IdleKicks              uint64 // shown when idle_timeout is set, as memcached does
}

// ServerSettings are the "stats settings" values that come from the
// server's configuration rather than the engine's or the connection's.
type ServerSettings struct {
	MaxConns        int
	TCPPort         int
	UDPPort         int
	Inter           string // "NULL" when listening on all addresses
	Verbosity       uint32
	DomainSocket    string // "NULL" when none
	Umask           int    // printed in octal, as memcached does
	NumThreads      int
	NumThreadsUDP   int
	TCPBacklog      int
	MaxconnsFast    bool
	IdleTimeout     int
	ReadBufMemLimit int
	HashPowerInit   int // as set with -o hashpower; 0 when left to the default
	SSLEnabled      bool
	SSL             SSLSettings
}

// SSLSettings are the -o ssl_* settings as configured, for "stats
// settings" (empty strings print as memcached prints unset ones).
type SSLSettings struct {
	ChainCert, Key, CACert, Ciphers string
	KeyFormat                       int // 1 PEM, 2 ASN.1 (OpenSSL's numbering)
	VerifyMode                      int
	MinVersion                      int // 0 TLS 1.0 … 3 TLS 1.3
	WBufSize                        int
	SessionCache, KernelTLS         bool
}

// ConnInfo describes one connection (or listener) for "stats conns".
type ConnInfo struct {
	ID               int
	Addr             string // e.g. "tcp:127.0.0.1:40000"
	ListenAddr       string // "" for listeners
	State            string // Conn.State(), or "conn_listening"
	SecsSinceLastCmd int64
}
