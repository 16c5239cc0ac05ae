package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// extendedSetter applies one -o key's value; val is "" for a bare key.
type extendedSetter func(s *Settings, key, val string) error

// extendedKeys are the -o keys SecureCached acts on; ssl_* take effect
// with -Z.
var extendedKeys = map[string]extendedSetter{
	"hashpower": func(s *Settings, k, v string) error {
		n, err := intValue(k, v)
		if err != nil {
			return err
		}
		s.Extended.HashPower = n
		return nil
	},
	"state_dir":   str(func(s *Settings, v string) { s.Extended.StateDir = v }),
	"track_sizes": flag(func(s *Settings) { s.Extended.TrackSizes = true }),
	// temporary_ttl turns the TEMP LRU on, as in memcached.
	"temporary_ttl": func(s *Settings, k, v string) error {
		n, err := intValue(k, v)
		if err != nil {
			return err
		}
		if n < 0 {
			return usagef("temporary_ttl must not be negative, got %d", n)
		}
		s.Extended.TempLRU, s.Extended.TemporaryTTL = true, n
		return nil
	},
	"relay": func(s *Settings, k, v string) error {
		if v != RelayEpoll && v != RelayGoroutine {
			return usagef("-o relay must be %s or %s, got %q", RelayEpoll, RelayGoroutine, v)
		}
		s.Extended.Relay = v
		return nil
	},
	"idle_timeout": func(s *Settings, k, v string) error {
		n, err := intValue(k, v)
		if err != nil {
			return err
		}
		if n < 0 {
			return usagef("idle_timeout must be 0 (off) or a number of seconds, got %d", n)
		}
		s.Extended.IdleTimeout = time.Duration(n) * time.Second
		return nil
	},
	"maxconns_fast":    flag(func(s *Settings) { s.Extended.MaxConnsFast = true }),
	"no_maxconns_fast": flag(func(s *Settings) { s.Extended.MaxConnsFast = false }),
	"hot_lru_pct": func(s *Settings, k, v string) (err error) {
		s.Extended.HotLRUPct, err = intValue(k, v)
		return err
	},
	"warm_lru_pct": func(s *Settings, k, v string) (err error) {
		s.Extended.WarmLRUPct, err = intValue(k, v)
		return err
	},
	"hot_max_factor": func(s *Settings, k, v string) (err error) {
		s.Extended.HotMaxFactor, err = floatValue(k, v)
		return err
	},
	"warm_max_factor": func(s *Settings, k, v string) (err error) {
		s.Extended.WarmMaxFactor, err = floatValue(k, v)
		return err
	},
	"slab_reassign":    flag(func(s *Settings) { s.Extended.SlabReassign = true }),
	"no_slab_reassign": flag(func(s *Settings) { s.Extended.SlabReassign = false }),
	"no_slab_automove": flag(func(s *Settings) { s.Extended.SlabAutomove = 0 }),
	"slab_automove": func(s *Settings, k, v string) error {
		if v == "" { // memcached: the bare key means 1
			s.Extended.SlabAutomove = 1
			return nil
		}
		n, err := intValue(k, v)
		if err == nil && (n < 0 || n > 2) {
			err = usagef("slab_automove must be between 0 and 2")
		}
		s.Extended.SlabAutomove = n
		return err
	},
	"slab_automove_ratio": func(s *Settings, k, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f >= 1 {
			return usagef("slab_automove_ratio must be > 0 and < 1")
		}
		s.Extended.AutomoveRatio = f
		return nil
	},
	"slab_automove_window": func(s *Settings, k, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 2 {
			return usagef("slab_automove_window must be > 2")
		}
		s.Extended.AutomoveWindow = n
		return nil
	},
	"seal_policy": func(s *Settings, k, v string) error {
		if v != SealMeasurement && v != SealSigner {
			return usagef("-o seal_policy must be %s or %s, got %q", SealMeasurement, SealSigner, v)
		}
		s.Extended.SealPolicy = v
		return nil
	},
	"ssl_chain_cert": str(func(s *Settings, v string) { s.Extended.SSLChainCert = v }),
	"ssl_key":        str(func(s *Settings, v string) { s.Extended.SSLKey = v }),
	"ssl_keyformat":  str(func(s *Settings, v string) { s.Extended.SSLKeyFormat = v }),
	"ssl_ciphers":    str(func(s *Settings, v string) { s.Extended.SSLCiphers = v }),
	"ssl_ca_cert":    str(func(s *Settings, v string) { s.Extended.SSLCACert = v }),
	"ssl_verify_mode": func(s *Settings, k, v string) error {
		n, err := intValue(k, v)
		if err == nil && (n < 0 || n > 3) {
			err = usagef("ssl_verify_mode must be 0, 1, 2 or 3, got %d", n)
		}
		s.Extended.SSLVerifyMode = n
		return err
	},
	"ssl_min_version": func(s *Settings, k, v string) error {
		n, err := intValue(k, v)
		if err == nil && (n < 0 || n > 3) {
			err = usagef("ssl_min_version must be 0 (tlsv1.0) to 3 (tlsv1.3), got %d", n)
		}
		s.Extended.SSLMinVersion = n
		return err
	},
	"ssl_wbuf_size": func(s *Settings, k, v string) error {
		n, err := intValue(k, v)
		s.Extended.SSLWBufSize = n << 10
		return err
	},
	"ssl_session_cache": flag(func(s *Settings) { s.Extended.SSLSessionCache = true }),
	"ssl_kernel_tls":    flag(func(s *Settings) { s.Extended.SSLKernelTLS = true }),
}

// ignoredKeys are memcached 1.6 -o keys for machinery SecureCached does not
// have (background threads, extstore, slab rebalancing, logging buffers).
// They are accepted with a warning so existing command lines keep starting.
var ignoredKeys = map[string]bool{
	"modern": true, "no_modern": true, "tail_repair_time": true, "hash_algorithm": true,
	"lru_crawler": true, "no_lru_crawler": true, "lru_crawler_sleep": true, "lru_crawler_tocrawl": true,
	"lru_maintainer": true, "no_lru_maintainer": true, "lru_segmented": true, "no_lru_segmented": true,
	"read_buf_mem_limit": true, "watcher_logbuf_size": true, "worker_logbuf_size": true,
	"slab_chunk_max": true, "no_hashexpand": true,
	"slab_automove_freeratio": true, "sock_cookie_id": true,
	"inline_ascii_resp": true, "no_inline_ascii_resp": true, "expirezero_does_not_evict": true,
	"drop_privileges": true, "no_drop_privileges": true, "meta_response_old": true,
	"ext_path": true, "ext_page_size": true, "ext_wbuf_size": true, "ext_threads": true,
	"ext_io_depth": true, "ext_item_size": true, "ext_item_age": true, "ext_low_ttl": true,
	"ext_recache_rate": true, "ext_compact_under": true, "ext_drop_under": true,
	"ext_max_sleep": true, "ext_max_frag": true, "ext_drop_unread": true,
	"slab_sizes": true, "lru_crawler_metadump": true, "proxy_config": true,
}

// applyExtended applies one -o argument: a comma-separated list of key or
// key=value items. Unknown keys are warned about and ignored, as the issue asks
// (memcached itself refuses them).
func (s *Settings) applyExtended(list string) error {
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, _ := strings.Cut(item, "=")
		if set, ok := extendedKeys[key]; ok {
			if err := set(s, key, val); err != nil {
				return err
			}
			continue
		}
		if ignoredKeys[key] {
			s.Warnings = append(s.Warnings, fmt.Sprintf("-o %s: memcached option has no effect in securecached; ignored", key))
			continue
		}
		s.Warnings = append(s.Warnings, fmt.Sprintf("-o %s: unknown extended option; ignored", item))
	}
	return nil
}

func flag(set func(*Settings)) extendedSetter {
	return func(s *Settings, k, v string) error {
		if v != "" {
			return usagef("-o %s takes no value, got %q", k, v)
		}
		set(s)
		return nil
	}
}

func str(set func(*Settings, string)) extendedSetter {
	return func(s *Settings, k, v string) error {
		if v == "" {
			return usagef("-o %s needs a value (%s=...)", k, k)
		}
		set(s, v)
		return nil
	}
}

func intValue(key, val string) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil {
		return 0, usagef("-o %s needs an integer value, got %q", key, val)
	}
	return n, nil
}

func floatValue(key, val string) (float64, error) {
	f, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return 0, usagef("-o %s needs a number, got %q", key, val)
	}
	return f, nil
}

// extendedUsage is the -o part of -h.
const extendedUsage = `
Extended options (-o key=value,key2=value2; may be repeated):
  hashpower=N          initial hash table size as a power of two (12..30;
                       memcached allows 32); the table still grows
  track_sizes          enable "stats sizes"
  temporary_ttl=N      items with a TTL of at most N seconds go to a TEMP LRU,
                       never evicted (as "lru temp_ttl N")
  relay=epoll|goroutine  securecached only: the gateway's one epoll event loop
                       (Linux) or a goroutine per client
  state_dir=DIR        securecached only: where the sim platform identity lives
                       (as --state-dir; default $STATE_DIRECTORY, else
                       ~/.local/state/securecached)
  idle_timeout=N       close connections idle for N seconds (default 0: never)
  maxconns_fast        at -c, accept, send "ERROR Too many open connections" and close (default)
  no_maxconns_fast     at -c, stop accepting until a connection closes
  slab_reassign, no_slab_reassign
                       allow moving slab pages between classes (default on)
  slab_automove=N      0 off, 1 move pages when a class starves over the
                       window (default), 2 move a page on every eviction
  slab_automove_ratio=F, slab_automove_window=N
                       automove 1's age ratio (default 0.80) and window in
                       seconds (default 30)
  seal_policy=P        securecached only: seal -e's file to the enclave's
                       measurement (default) or signer
  hot_lru_pct=N        percent of memory for the HOT LRU (default 20)
  warm_lru_pct=N       percent of memory for the WARM LRU (default 40)
  hot_max_factor=F     items idle > COLD age * F leave HOT (default 0.20)
  warm_max_factor=F    items idle > COLD age * F leave WARM (default 2.00)
  ssl_chain_cert=FILE, ssl_key=FILE
                       with -Z: the certificate chain and its key (PEM; both
                       or neither). Without them a trusted cache agent serves
                       an RA-TLS certificate carrying its enclave's evidence
  ssl_keyformat=PEM    the only key format accepted
  ssl_verify_mode=N    client certificates: 0 none, 1 request, 2 require, 3 once
  ssl_ca_cert=FILE     CA certificates client certificates are verified against
  ssl_min_version=N    lowest TLS version: 0 tlsv1.0 .. 3 tlsv1.3 (default 2;
                       RA-TLS is TLS 1.3 only)
  ssl_ciphers, ssl_wbuf_size, ssl_session_cache, ssl_kernel_tls
                       accepted for compatibility
Other memcached -o keys are accepted with a warning and have no effect;
unknown keys are warned about and ignored.
`
