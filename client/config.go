package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/securecached/securecached/ketama"
)

// DialFunc opens a connection to a server. It is the client's only
// transport dependency: net.Dialer.DialContext for TCP, or a Diggi socket's
// dialer for a client running inside an agent.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DialNetworks returns a DialFunc that dials each network with its own
// dialer, so one pool can hold servers reached in different ways (TCP
// servers beside cache agents reached by Diggi address). A network with
// no dialer fails the dial, and counts against that server alone.
func DialNetworks(dialers map[string]DialFunc) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d, ok := dialers[network]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownNetwork, network)
		}
		return d(ctx, network, addr)
	}
}

// ServerConfig describes one server.
type ServerConfig struct {
	Addr    string // host:port as every client spells it (ketama hashes the text)
	Weight  uint32 // share of the key space under ketama; 0 means 1
	Trusted bool   // runs in a TEE: may hold items marked Sensitive
	// Network is the network passed to Config.Dial for this server; ""
	// means Config.Network. Servers of one pool may be reached over
	// different networks (TCP and Diggi sockets, say) when Dial handles
	// each: see DialNetworks. The ring hashes Addr alone, so a server's
	// place does not depend on how it is reached.
	Network string
}

// Distribution chooses how keys map to servers.
type Distribution int

// The distributions, both libmemcached-compatible (see package ketama).
const (
	Ketama           Distribution = iota // weighted consistent hashing (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED)
	Modulo                               // Hash(key) mod servers, the thesis's first method
	KetamaUnweighted                     // plain ketama with Hash (MEMCACHED_BEHAVIOR_KETAMA); weights must be 1
)

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	Servers      []ServerConfig
	Distribution Distribution
	Hash         ketama.Hash // key hash for Modulo and KetamaUnweighted; default one-at-a-time

	Protocol Protocol // Binary (default), Text or Meta

	Dial    DialFunc // default: net.Dialer
	Network string   // default "tcp"
	// TLS, if set, wraps every connection in TLS, each with a clone of
	// this configuration. ServerName defaults to the host of the address
	// dialed.
	TLS *tls.Config
	// NewTLS, if set, wraps every connection in TLS with a configuration
	// made for that connection alone: it is called once per new
	// connection, before dialing, with the server's address, and may be
	// called from several goroutines at once. It is for configurations
	// that must not serve two handshakes, such as RA-TLS with a fresh
	// nonce per connection (ratls.ClientConfig with Nonce), which proves
	// the server's evidence was made for this handshake rather than
	// judging freshness by certificate age. An error fails the call that
	// needed the connection without counting against the server. Set TLS
	// or NewTLS, not both.
	NewTLS func(addr string) (*tls.Config, error)

	// MaxConnsPerServer bounds connections per server (default 2). Requests
	// share connections by pipelining when all are busy.
	MaxConnsPerServer int
	// Timeout bounds calls whose context has no deadline (default 2s), and
	// dials.
	Timeout time.Duration
	// MaxValueSize bounds a response body and a decompressed value (default
	// 16 MiB), so a broken server cannot make the client allocate without
	// limit.
	MaxValueSize int

	// FailureLimit consecutive failures mark a server dead (default 2).
	FailureLimit int
	// RetryBackoff is how long a dead server is left alone the first time
	// (default 1s); it doubles on each further failure up to MaxBackoff
	// (default 30s).
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// Rehash sends keys of dead servers to the remaining ones (libmemcached's
	// auto-eject). Without it calls to a dead server fail with ErrServerDead.
	Rehash bool

	// CompressThreshold compresses values of at least this many bytes with
	// zlib when that makes them smaller, marking them with FlagCompressed.
	// 0 disables compression (reads still decompress).
	CompressThreshold int
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Dial == nil {
		var nd net.Dialer
		d.Dial = nd.DialContext
	}
	if d.Network == "" {
		d.Network = "tcp"
	}
	if d.MaxConnsPerServer <= 0 {
		d.MaxConnsPerServer = 2
	}
	if d.Timeout <= 0 {
		d.Timeout = 2 * time.Second
	}
	if d.MaxValueSize <= 0 {
		d.MaxValueSize = 16 << 20
	}
	if d.FailureLimit <= 0 {
		d.FailureLimit = 2
	}
	if d.RetryBackoff <= 0 {
		d.RetryBackoff = time.Second
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 30 * time.Second
	}
	return d
}
