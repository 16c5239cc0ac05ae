package conn

import (
	"fmt"
	"strconv"
	"time"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// stat is one "STAT <name> <value>" line.
type stat = memcache.Stat

// maxSlabClassID is memcached's MAX_NUMBER_OF_SLAB_CLASSES: cachedump ids
// at or above it are refused.
const maxSlabClassID = 64

func u64(v uint64) string { return strconv.FormatUint(v, 10) }
func i64(v int64) string  { return strconv.FormatInt(v, 10) }
func boolNum(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// rusage formats a duration as memcached's "%ld.%06ld" seconds.
func rusage(d time.Duration) string {
	us := d.Microseconds()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// generalStats composes memcached 1.6.18's "stats" in its order: server
// facts, then the engine's counters with the server's interleaved where
// memcached prints them.
func (c *Conn) generalStats() []stat {
	ss := c.host.ServerStats()
	now := c.cache.Now()
	sh := c.shared
	out := []stat{
		{Name: "pid", Value: strconv.Itoa(ss.Pid)},
		{Name: "uptime", Value: i64(c.cache.Uptime())},
		{Name: "time", Value: i64(now.Unix())},
		{Name: "version", Value: c.set.Version},
		{Name: "libevent", Value: ss.Libevent},
		{Name: "pointer_size", Value: strconv.Itoa(ss.PointerSize)},
		{Name: "rusage_user", Value: rusage(ss.RusageUser)},
		{Name: "rusage_system", Value: rusage(ss.RusageSystem)},
		{Name: "max_connections", Value: u64(ss.MaxConnections)},
		{Name: "curr_connections", Value: u64(ss.CurrConnections)},
		{Name: "total_connections", Value: u64(ss.TotalConnections)},
		{Name: "rejected_connections", Value: u64(ss.RejectedConnections)},
		{Name: "connection_structures", Value: u64(ss.ConnectionStructures)},
		// Memcached's response-object and read-buffer pools have no
		// counterpart here; their neutral values are printed.
		{Name: "response_obj_oom", Value: "0"},
		{Name: "response_obj_count", Value: "0"},
		{Name: "response_obj_bytes", Value: "0"},
		{Name: "read_buf_count", Value: "0"},
		{Name: "read_buf_bytes", Value: "0"},
		{Name: "read_buf_bytes_free", Value: "0"},
		{Name: "read_buf_oom", Value: "0"},
		{Name: "reserved_fds", Value: u64(ss.ReservedFds)},
	}
	after := map[string][]stat{
		"cmd_touch": {{Name: "cmd_meta", Value: u64(sh.CmdMeta.Load())}},
		"store_no_memory": {
			{Name: "auth_cmds", Value: u64(sh.AuthCmds.Load())},
			{Name: "auth_errors", Value: u64(sh.AuthErrors.Load())},
			{Name: "idle_kicks", Value: u64(ss.IdleKicks)},
			{Name: "bytes_read", Value: u64(sh.BytesRead.Load())},
			{Name: "bytes_written", Value: u64(sh.BytesWritten.Load())},
		},
		"limit_maxbytes": {
			{Name: "accepting_conns", Value: boolNum(ss.AcceptingConns)},
			{Name: "listen_disabled_num", Value: u64(ss.ListenDisabledNum)},
			{Name: "time_in_listen_disabled_us", Value: u64(ss.TimeInListenDisabledUs)},
			{Name: "threads", Value: strconv.Itoa(ss.Threads)},
			{Name: "conn_yields", Value: u64(sh.ConnYields.Load())},
		},
		// Background-thread and logger counters of memcached that have no
		// counterpart here print as 0 unless the engine reports them.
		"slabs_moved": {
			{Name: "lru_crawler_running", Value: "0"},
			{Name: "lru_crawler_starts", Value: "0"},
			{Name: "lru_maintainer_juggles", Value: "0"},
		},
		"lru_maintainer_juggles": {
			{Name: "malloc_fails", Value: "0"},
			{Name: "log_worker_dropped", Value: "0"},
			{Name: "log_worker_written", Value: "0"},
			{Name: "log_watcher_skipped", Value: "0"},
			{Name: "log_watcher_sent", Value: "0"},
			{Name: "log_watchers", Value: "0"},
			{Name: "unexpected_napi_ids", Value: "0"},
			{Name: "round_robin_fallback", Value: "0"},
		},
	}
	engine := c.cache.Stats().EngineFields()
	have := make(map[string]bool, len(engine))
	for _, s := range engine {
		have[s.Name] = true
	}
	if c.host.ServerSettings().IdleTimeout == 0 {
		have["idle_kicks"] = true // memcached prints it only with idle_timeout
	}
	var emit func(s stat)
	emit = func(s stat) {
		out = append(out, s)
		for _, extra := range after[s.Name] {
			if !have[extra.Name] {
				emit(extra)
			}
		}
	}
	for _, s := range engine {
		emit(s)
	}
	return out
}

// settingsStats composes "stats settings" in memcached 1.6.18's order.
func (c *Conn) settingsStats() []stat {
	cfg := c.cache.Config()
	hs := c.host.ServerSettings()
	inter, sock := hs.Inter, hs.DomainSocket
	if inter == "" {
		inter = "NULL"
	}
	if sock == "" {
		sock = "NULL"
	}
	onOff := "on"
	if cfg.NoEvict {
		onOff = "off"
	}
	bindProto := c.set.Protocol.String()
	if c.set.ASCIIAuth {
		bindProto = ProtocolASCII.String()
	}
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	return []stat{
		{Name: "maxbytes", Value: i64(cfg.MaxBytes)},
		{Name: "maxconns", Value: strconv.Itoa(hs.MaxConns)},
		{Name: "tcpport", Value: strconv.Itoa(hs.TCPPort)},
		{Name: "udpport", Value: strconv.Itoa(hs.UDPPort)},
		{Name: "inter", Value: inter},
		{Name: "verbosity", Value: u64(uint64(hs.Verbosity))},
		// oldest is the flush horizon in server-relative seconds, which
		// the engine does not publish; memcached prints 0 until a flush.
		{Name: "oldest", Value: "0"},
		{Name: "evictions", Value: onOff},
		{Name: "domain_socket", Value: sock},
		{Name: "umask", Value: strconv.FormatInt(int64(hs.Umask), 8)},
		{Name: "shutdown_command", Value: yesNo(c.set.ShutdownEnabled)},
		{Name: "growth_factor", Value: f2(cfg.GrowthFactor)},
		{Name: "chunk_size", Value: strconv.Itoa(cfg.ChunkSizeMin)},
		{Name: "num_threads", Value: strconv.Itoa(hs.NumThreads)},
		{Name: "num_threads_per_udp", Value: strconv.Itoa(hs.NumThreadsUDP)},
		{Name: "stat_key_prefix", Value: string([]byte{cfg.PrefixDelimiter})},
		{Name: "detail_enabled", Value: yesNo(c.cache.DetailEnabled())},
		{Name: "reqs_per_event", Value: strconv.Itoa(c.set.ReqsPerEvent)},
		{Name: "cas_enabled", Value: yesNo(!cfg.NoCAS)},
		{Name: "tcp_backlog", Value: strconv.Itoa(hs.TCPBacklog)},
		{Name: "binding_protocol", Value: bindProto},
		{Name: "auth_enabled_sasl", Value: "no"},
		{Name: "auth_enabled_ascii", Value: yesNo(c.set.ASCIIAuth)},
		{Name: "item_size_max", Value: strconv.Itoa(cfg.ItemSizeMax)},
		{Name: "maxconns_fast", Value: yesNo(hs.MaxconnsFast)},
		{Name: "hashpower_init", Value: strconv.Itoa(hs.HashPowerInit)},
		{Name: "slab_reassign", Value: yesNo(cfg.SlabReassign)},
		{Name: "slab_automove", Value: strconv.Itoa(cfg.SlabAutomove)},
		{Name: "slab_automove_ratio", Value: f2(cfg.SlabAutomoveRatio)},
		{Name: "slab_automove_window", Value: strconv.Itoa(cfg.SlabAutomoveWindow)},
		{Name: "slab_chunk_max", Value: strconv.Itoa(cfg.ItemSizeMax)},
		{Name: "lru_crawler", Value: "yes"},
		{Name: "lru_crawler_sleep", Value: "100"},
		{Name: "lru_crawler_tocrawl", Value: "0"},
		{Name: "tail_repair_time", Value: "0"},
		{Name: "flush_enabled", Value: yesNo(!c.set.FlushDisabled)},
		{Name: "dump_enabled", Value: yesNo(!c.set.DumpDisabled)},
		{Name: "hash_algorithm", Value: "murmur3"},
		{Name: "lru_maintainer_thread", Value: "yes"},
		{Name: "lru_segmented", Value: yesNo(!cfg.FlatLRU)},
		{Name: "hot_lru_pct", Value: strconv.Itoa(cfg.HotLRUPct)},
		{Name: "warm_lru_pct", Value: strconv.Itoa(cfg.WarmLRUPct)},
		{Name: "hot_max_factor", Value: f2(cfg.HotMaxFactor)},
		{Name: "warm_max_factor", Value: f2(cfg.WarmMaxFactor)},
		{Name: "temp_lru", Value: yesNo(cfg.TempLRU)},
		{Name: "temporary_ttl", Value: strconv.FormatUint(uint64(cfg.TemporaryTTL), 10)},
		{Name: "idle_timeout", Value: strconv.Itoa(hs.IdleTimeout)},
		{Name: "watcher_logbuf_size", Value: "262144"},
		{Name: "worker_logbuf_size", Value: "65536"},
		{Name: "read_buf_mem_limit", Value: strconv.Itoa(hs.ReadBufMemLimit)},
		{Name: "track_sizes", Value: yesNo(cfg.TrackSizes)},
		{Name: "inline_ascii_response", Value: "no"},
		{Name: "ext_item_size", Value: "512"},
		{Name: "ext_item_age", Value: "4294967295"},
		{Name: "ext_low_ttl", Value: "0"},
		{Name: "ext_recache_rate", Value: "2000"},
		{Name: "ext_wbuf_size", Value: "4194304"},
		{Name: "ext_compact_under", Value: "0"},
		{Name: "ext_drop_under", Value: "0"},
		{Name: "ext_max_sleep", Value: "1000000"},
		{Name: "ext_max_frag", Value: "0.80"},
		{Name: "slab_automove_freeratio", Value: "0.010"},
		{Name: "ext_drop_unread", Value: "no"},
		{Name: "ssl_enabled", Value: yesNo(hs.SSLEnabled)},
		{Name: "ssl_chain_cert", Value: orUnset(hs.SSL.ChainCert, "(null)")},
		{Name: "ssl_key", Value: orUnset(hs.SSL.Key, "(null)")},
		{Name: "ssl_verify_mode", Value: strconv.Itoa(hs.SSL.VerifyMode)},
		{Name: "ssl_keyformat", Value: strconv.Itoa(hs.SSL.KeyFormat)},
		{Name: "ssl_ciphers", Value: orUnset(hs.SSL.Ciphers, "NULL")},
		{Name: "ssl_ca_cert", Value: orUnset(hs.SSL.CACert, "NULL")},
		{Name: "ssl_wbuf_size", Value: strconv.Itoa(hs.SSL.WBufSize)},
		{Name: "ssl_session_cache", Value: yesNo(hs.SSL.SessionCache)},
		{Name: "ssl_kernel_tls", Value: yesNo(hs.SSL.KernelTLS)},
		{Name: "ssl_min_version", Value: "tlsv1." + strconv.Itoa(hs.SSL.MinVersion)},
		{Name: "num_napi_ids", Value: "(null)"},
		{Name: "memory_file", Value: orUnset(c.set.MemoryFile, "(null)")},
	}
}

// orUnset is s, or memcached's word for an unset string setting.
func orUnset(s, unset string) string {
	if s == "" {
		return unset
	}
	return s
}

func (c *Conn) connStats() []stat {
	var out []stat
	for _, ci := range c.host.Conns() {
		id := strconv.Itoa(ci.ID) + ":"
		out = append(out, stat{Name: id + "addr", Value: ci.Addr})
		if ci.ListenAddr != "" {
			out = append(out, stat{Name: id + "listen_addr", Value: ci.ListenAddr})
		}
		out = append(out, stat{Name: id + "state", Value: ci.State},
			stat{Name: id + "secs_since_last_cmd", Value: i64(ci.SecsSinceLastCmd)})
	}
	return out
}

// resetStats is "stats reset": the engine's counters and the shared ones.
func (c *Conn) resetStats() {
	c.cache.ResetStats()
	c.shared.reset()
}

// engineFamily returns "stats items|slabs|sizes", or false for a family
// memcached does not know.
func (c *Conn) engineFamily(name string) ([]stat, bool) {
	switch name {
	case "items":
		return c.cache.ItemStats(), true
	case "slabs":
		return c.cache.SlabStats(), true
	case "sizes":
		return c.cache.SizeStats(), true
	}
	return nil, false
}

func (c *Conn) appendStats(list []stat) {
	for _, s := range list {
		c.out = protocol.AppendStat(c.out, s.Name, s.Value)
	}
	c.out = protocol.AppendEnd(c.out)
}

// execStats is memcached's process_stat.
func (c *Conn) execStats(r *protocol.Request) {
	if r.NTokens == 2 {
		c.appendStats(c.generalStats())
		return
	}
	sub := string(r.Args[0])
	switch sub {
	case "reset":
		c.resetStats()
		c.reply("RESET")
	case "detail":
		arg := ""
		if r.NTokens >= 4 {
			arg = string(r.Args[1])
		}
		switch arg {
		case "on":
			c.cache.SetDetail(true)
			c.reply(replyOK)
		case "off":
			c.cache.SetDetail(false)
			c.reply(replyOK)
		case "dump":
			for _, p := range c.cache.DetailDump() {
				c.out = fmt.Appendf(c.out, "PREFIX %s get %d hit %d set %d del %d\r\n",
					p.Prefix, p.Gets, p.Hits, p.Sets, p.Deletes)
			}
			c.out = protocol.AppendEnd(c.out)
		default:
			c.reply("CLIENT_ERROR usage: stats detail on|off|dump")
		}
	case "settings":
		c.appendStats(c.settingsStats())
	case "cachedump":
		c.execCachedump(r)
	case "conns":
		c.appendStats(c.connStats())
	case "sizes_enable", "sizes_disable":
		// memcached answers with the one line and no END.
		on := sub == "sizes_enable"
		c.cache.SetSizesTracking(on)
		if on {
			c.out = protocol.AppendStat(c.out, "sizes_status", "enabled")
		} else {
			c.out = protocol.AppendStat(c.out, "sizes_status", "disabled")
		}
	case "extstore":
		// memcached built without extstore, as Debian's is, answers an
		// empty list; there is no external storage here either.
		c.out = protocol.AppendEnd(c.out)
	default:
		list, ok := c.engineFamily(sub)
		if !ok {
			c.reply(protocol.ReplyError)
			return
		}
		c.appendStats(list)
	}
}

func (c *Conn) execCachedump(r *protocol.Request) {
	if c.set.DumpDisabled {
		c.reply("CLIENT_ERROR stats cachedump not allowed")
		return
	}
	if r.NTokens < 5 {
		c.reply("CLIENT_ERROR bad command line")
		return
	}
	id, ok1 := protocol.ParseUint32(r.Args[1])
	limit, ok2 := protocol.ParseUint32(r.Args[2])
	if !ok1 || !ok2 {
		c.reply(protocol.ReplyBadFormat)
		return
	}
	if id >= maxSlabClassID {
		c.reply("CLIENT_ERROR Illegal slab id")
		return
	}
	for _, it := range c.cache.CacheDump(int(id), int(limit)) {
		c.out = fmt.Appendf(c.out, "ITEM %s [%d b; %d s]\r\n", it.Key, it.Bytes, it.Exptime)
	}
	c.out = protocol.AppendEnd(c.out)
}
