package cacheagent

import (
	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/conn"
	"github.com/securecached/securecached/memcache"
)

// EngineConfig maps memcached's flags onto the engine's configuration.
func EngineConfig(s *config.Settings) memcache.Config {
	cfg := memcache.DefaultConfig()
	cfg.MaxBytes = s.MemoryLimit
	cfg.NoEvict = s.DisableEvictions
	cfg.Preallocate = s.LargePages
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
	cfg.SlabReassign = s.Extended.SlabReassign
	cfg.SlabAutomove = s.Extended.SlabAutomove
	cfg.SlabAutomoveRatio = s.Extended.AutomoveRatio
	cfg.SlabAutomoveWindow = s.Extended.AutomoveWindow
	if s.Extended.TempLRU {
		cfg.TempLRU, cfg.TemporaryTTL = true, uint32(s.Extended.TemporaryTTL)
	}
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
		WatchDisabled:   s.DisableWatch,
		ASCIIAuth:       s.AuthFile != "",
		MemoryFile:      s.MemoryFile,
	}
}
