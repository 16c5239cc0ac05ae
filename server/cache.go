package server

import (
	"fmt"
	"sync"
	"time"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/memcache"
)

// Cache is the cache agent: the single-threaded engine, the baton that keeps
// it single-threaded, and the per-connection state machines. It never
// touches a socket: the relay (or, later, a Diggi gateway) hands it bytes
// through Sessions and sends back what they produce.
type Cache struct {
	// baton is held by whichever goroutine is inside the engine or any
	// conn.Conn of this cache: the engine is single-threaded by contract.
	baton  sync.Mutex
	engine *memcache.Cache
	shared conn.Shared
	set    conn.Settings
	host   conn.Host
}

// EngineConfig maps memcached's flags onto the engine's configuration.
func EngineConfig(s *config.Settings) memcache.Config {
	cfg := memcache.DefaultConfig()
	cfg.MaxBytes = s.MemoryLimit
	cfg.NoEvict = s.DisableEvictions
	cfg.ItemSizeMax = s.MaxItemSize
	cfg.GrowthFactor = s.SlabGrowthFactor
	cfg.ChunkSizeMin = s.SlabMinSize
	cfg.NoCAS = s.DisableCAS
	if s.Extended.HashPower > 0 {
		cfg.HashPowerInit = uint(s.Extended.HashPower)
	}
	cfg.HotLRUPct = s.Extended.HotLRUPct
	cfg.WarmLRUPct = s.Extended.WarmLRUPct
	cfg.HotMaxFactor = s.Extended.HotMaxFactor
	cfg.WarmMaxFactor = s.Extended.WarmMaxFactor
	cfg.PrefixDelimiter = s.PrefixDelimiter
	cfg.TrackSizes = s.Extended.TrackSizes
	return cfg
}

// ConnSettings maps memcached's flags onto the connection state machine's
// settings.
func ConnSettings(s *config.Settings) conn.Settings {
	p := conn.ProtocolAuto
	switch s.Protocol {
	case config.ProtocolASCII:
		p = conn.ProtocolASCII
	case config.ProtocolBinary:
		p = conn.ProtocolBinary
	}
	return conn.Settings{
		Protocol:        p,
		ReqsPerEvent:    s.MaxReqsPerEvent,
		ShutdownEnabled: s.EnableShutdown,
		FlushDisabled:   s.DisableFlushAll,
		DumpDisabled:    s.DisableDumping,
		ASCIIAuth:       s.AuthFile != "",
	}
}

// NewCache builds the engine. host answers the connections' questions about
// the server (stats, auth, shutdown); now starts the engine's clock.
func NewCache(cfg memcache.Config, set conn.Settings, host conn.Host, now time.Time) (*Cache, error) {
	engine, err := memcache.New(cfg, now)
	if err != nil {
		return nil, fmt.Errorf("cache engine: %w", err)
	}
	return &Cache{engine: engine, set: set, host: host}, nil
}

// Tick advances the engine's clock; the server calls it once a second.
func (c *Cache) Tick(now time.Time) {
	c.baton.Lock()
	c.engine.Tick(now)
	c.baton.Unlock()
}

// Shared returns the server-wide connection counters.
func (c *Cache) Shared() *conn.Shared { return &c.shared }

// NewSession starts the state machine for one new client connection.
func (c *Cache) NewSession() *Session {
	c.baton.Lock()
	defer c.baton.Unlock()
	return &Session{cache: c, conn: conn.New(c.engine, c.host, &c.shared, c.set)}
}

// Session is one client connection as the cache agent sees it: bytes in,
// bytes out. Input and Resume take the cache's baton; Output, Sent and
// Closed touch only this connection and run outside it, so the socket write
// never holds up other connections.
type Session struct {
	cache *Cache
	conn  *conn.Conn
}

// Input feeds bytes read from the client. When it returns true the
// connection yielded after -R requests with complete input left: send
// Output, then call Resume.
func (s *Session) Input(p []byte) (more bool) {
	s.cache.baton.Lock()
	more = s.conn.Feed(p)
	s.cache.baton.Unlock()
	return more
}

// Resume continues after a yield.
func (s *Session) Resume() (more bool) {
	s.cache.baton.Lock()
	more = s.conn.Process()
	s.cache.baton.Unlock()
	return more
}

// Output is what to send now; valid until the next Input, Resume or Sent.
func (s *Session) Output() []byte { return s.conn.Output() }

// Sent reports that n bytes of Output were written.
func (s *Session) Sent(n int) { s.conn.Sent(n) }

// Closed reports that the connection must close once Output is sent.
func (s *Session) Closed() bool { return s.conn.Closed() }

// State and LastCmd describe the connection for "stats conns".
func (s *Session) State() string      { return s.conn.State() }
func (s *Session) LastCmd() time.Time { return s.conn.LastCmd() }

// Close releases the connection's state (an unfinished value reservation,
// for one) when the client is gone or the server stops.
func (s *Session) Close() {
	s.cache.baton.Lock()
	s.conn.Close()
	s.cache.baton.Unlock()
}
