package config

import (
	"net"
	"strconv"
	"strings"
)

// Validate checks the settings in memcached's spirit: anything that cannot
// work is refused before the server starts, with memcached's message where
// memcached has one. Every error matches ErrUsage.
func (s *Settings) Validate() error {
	switch {
	case s.Port < 0 || s.Port > 65535:
		return usagef("ERROR: Invalid port number %d.", s.Port)
	case s.UDPPort < 0 || s.UDPPort > 65535:
		return usagef("ERROR: Invalid UDP port number %d.", s.UDPPort)
	case s.UDPPort != 0:
		return usagef("UDP is not supported (-U %d): securecached serves TCP and UNIX sockets only; use -U 0", s.UDPPort)
	case s.MemoryLimit <= 0:
		return usagef("Memory limit must be greater than 0 megabytes")
	case s.ConnLimit <= 0:
		return usagef("Maximum connections must be greater than 0")
	case s.Threads <= 0:
		return usagef("Number of threads must be greater than 0")
	case s.Threads > 256:
		return usagef("Number of threads must be at most 256, got %d", s.Threads)
	case s.MaxReqsPerEvent <= 0:
		return usagef("Number of requests per event must be greater than 0")
	case s.ListenBacklog <= 0:
		return usagef("Listen backlog must be greater than 0")
	case s.SlabGrowthFactor <= 1:
		return usagef("Factor must be greater than 1")
	case s.SlabMinSize <= 0:
		return usagef("Chunk size must be greater than 0")
	case s.MaxItemSize < 1024:
		return usagef("Item max size cannot be less than 1024 bytes.")
	case int64(s.MaxItemSize) > s.MemoryLimit/2:
		return usagef("Cannot set item size limit higher than 1/2 of memory max.")
	case s.MaxItemSize > 128<<20:
		// memcached allows a gigabyte; items here are one contiguous
		// chunk, which the engine caps at 128m.
		return usagef("Cannot set item size limit higher than 128 megabytes (memcached allows 1024m).")
	}
	if s.Verbose > 3 {
		s.Verbose = 3 // memcached treats more v's as -vvv
	}
	if err := s.validateExtended(); err != nil {
		return err
	}
	if err := s.validateSSL(); err != nil {
		return err
	}
	if s.UnixSocket == "" && s.Port != 0 {
		if _, err := s.ListenAddrs(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Settings) validateExtended() error {
	e := &s.Extended
	switch {
	case e.HashPower != 0 && e.HashPower < 12:
		return usagef("Initial hashtable multiplier of %d is too low", e.HashPower)
	case e.HashPower > 30: // memcached allows 32; the engine tops out at 30
		return usagef("Initial hashtable multiplier of %d is too high\nChoose a value based on \"STAT hash_power_level\" from a running instance", e.HashPower)
	case e.HotLRUPct < 1 || e.HotLRUPct >= 80:
		return usagef("hot_lru_pct must be > 1 and < 80")
	case e.WarmLRUPct < 1 || e.WarmLRUPct >= 80:
		return usagef("warm_lru_pct must be > 1 and < 80")
	case e.HotLRUPct+e.WarmLRUPct > 80:
		return usagef("hot_lru_pct + warm_lru_pct cannot be more than 80%% combined")
	case e.HotMaxFactor <= 0:
		return usagef("hot_max_factor must be greater than 0")
	case e.WarmMaxFactor <= 0:
		return usagef("warm_max_factor must be greater than 0")
	}
	return nil
}

// validateSSL checks the ssl_* keys -Z acts on. A certificate and its key
// come as a pair; with neither, a trusted cache agent serves an RA-TLS
// certificate from its enclave instead. Without -Z memcached ignores them,
// and so do we.
func (s *Settings) validateSSL() error {
	if !s.EnableSSL {
		return nil
	}
	e := &s.Extended
	switch {
	case (e.SSLChainCert == "") != (e.SSLKey == ""):
		return usagef("-Z: ssl_chain_cert and ssl_key must be given together (or neither, for an RA-TLS certificate from the cache agent's enclave)")
	case e.SSLKeyFormat != "PEM":
		return usagef("-Z: ssl_keyformat %q is not supported: only PEM", e.SSLKeyFormat)
	}
	return nil
}

// ListenAddrs returns the TCP addresses to listen on, one "host:port" per -l
// entry. An entry is "host", "host:port", "[v6]" or "[v6]:port", or a bare
// IPv6 address; entries without a port use -p. Hostnames are resolved when
// listening; an address that looks numeric but is not an IP is refused here.
func (s *Settings) ListenAddrs() ([]string, error) {
	out := make([]string, 0, len(s.Listen))
	for _, entry := range s.Listen {
		host, port, err := splitListen(entry, s.Port)
		if err != nil {
			return nil, err
		}
		out = append(out, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	return out, nil
}

func splitListen(entry string, defaultPort int) (string, int, error) {
	host, port := entry, defaultPort
	switch {
	case strings.HasPrefix(entry, "["):
		end := strings.IndexByte(entry, ']')
		if end < 0 {
			return "", 0, usagef("Invalid listen address %q: missing ']'", entry)
		}
		host = entry[1:end]
		rest := entry[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", 0, usagef("Invalid listen address %q", entry)
			}
			p, err := parsePort(rest[1:])
			if err != nil {
				return "", 0, usagef("Invalid listen address %q: %v", entry, err)
			}
			port = p
		}
		if net.ParseIP(host) == nil {
			return "", 0, usagef("Invalid listen address %q: %q is not an IPv6 address", entry, host)
		}
	case strings.Count(entry, ":") == 1:
		h, p, _ := strings.Cut(entry, ":")
		pn, err := parsePort(p)
		if err != nil {
			return "", 0, usagef("Invalid listen address %q: %v", entry, err)
		}
		host, port = h, pn
	case strings.Count(entry, ":") > 1:
		// A bare IPv6 address, as memcached allows.
		if net.ParseIP(entry) == nil {
			return "", 0, usagef("Invalid listen address %q: not an IPv6 address (use [addr]:port with a port)", entry)
		}
	}
	if host == "" {
		return "", 0, usagef("Invalid listen address %q: empty host", entry)
	}
	if net.ParseIP(host) == nil && !validHostname(host) {
		return "", 0, usagef("Invalid listen address %q: not an IP address or host name", entry)
	}
	return host, port, nil
}

func parsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return 0, usagef("invalid port %q", p)
	}
	return n, nil
}

// validHostname accepts RFC 1123 names that are not all digits and dots (so
// "999.1.1.1" is a bad IP, not a host name).
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	numeric := true
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				return false
			}
		}
	}
	return !numeric
}
