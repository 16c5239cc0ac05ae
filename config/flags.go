package config

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// ErrUsage marks every error Parse returns: the command line is wrong and the
// program should print the message and exit with status 64 (EX_USAGE), as
// memcached does, before anything starts.
var ErrUsage = errors.New("usage")

// usageError carries a message for the user and matches ErrUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// rawFlags are the values pflag fills in before we interpret them: sizes,
// masks and lists need memcached's own syntax, so they arrive as strings.
type rawFlags struct {
	port, udpPort, connLimit, threads, maxReqs, backlog, minSize int
	memoryMB                                                     int64
	factor                                                       float64
	listen, extended                                             []string
	unixSocket, unixMask, maxItemSize, protocol, authFile        string
	user, delimiter, pidFile, memoryFile                         string
	daemon, noEvict, noCAS, noFlush, noDump, shutdown, ssl       bool
	lockMemory, largePages, coreDumps, sasl, noWatch             bool
	verbose, napiIDs                                             int
	help, version, license                                       bool
}

// newFlagSet declares memcached 1.6's options on a pflag set. Long names and
// shorthands are memcached's, so existing command lines keep working.
func newFlagSet(r *rawFlags) *pflag.FlagSet {
	d := Defaults()
	fs := pflag.NewFlagSet("securecached", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // Parse reports errors itself, once
	fs.SortFlags = false
	fs.IntVarP(&r.port, "port", "p", d.Port, "TCP port to listen on; 0 disables TCP")
	fs.StringArrayVarP(&r.listen, "listen", "l", nil, "interface to listen on, host or host:port, comma-separated or repeated (default 127.0.0.1)")
	fs.StringVarP(&r.unixSocket, "unix-socket", "s", "", "UNIX socket to listen on (disables TCP)")
	fs.StringVarP(&r.unixMask, "unix-mask", "a", "700", "access mask for the UNIX socket, in octal")
	fs.IntVarP(&r.udpPort, "udp-port", "U", 0, "UDP port; only 0 (off) is accepted: UDP is not served")
	fs.BoolVarP(&r.shutdown, "enable-shutdown", "A", false, "enable the ascii \"shutdown\" command")
	fs.BoolVarP(&r.daemon, "daemon", "d", false, "run as a daemon: refused, run under a supervisor instead")
	fs.StringVarP(&r.user, "user", "u", "", "accepted for compatibility; securecached never changes user")
	fs.Int64VarP(&r.memoryMB, "memory-limit", "m", 64, "item memory in megabytes")
	fs.BoolVarP(&r.noEvict, "disable-evictions", "M", false, "return an error when memory is full instead of evicting")
	fs.IntVarP(&r.connLimit, "conn-limit", "c", d.ConnLimit, "max simultaneous connections")
	fs.CountVarP(&r.verbose, "verbose", "v", "verbose: -v warnings and errors; -vv adds connection opens and closes and, from an untrusted cache agent only, every command and reply; -vvv adds every line received (untrusted only)")
	fs.BoolVarP(&r.help, "help", "h", false, "print this help and exit")
	fs.BoolVarP(&r.license, "license", "i", false, "print the licenses of the code built into securecached and exit")
	fs.BoolVarP(&r.version, "version", "V", false, "print version and exit")
	fs.StringVarP(&r.pidFile, "pidfile", "P", "", "accepted for compatibility; only used with -d, which is refused")
	fs.Float64VarP(&r.factor, "slab-growth-factor", "f", d.SlabGrowthFactor, "chunk size growth factor")
	fs.IntVarP(&r.minSize, "slab-min-size", "n", d.SlabMinSize, "min space used for key+value+flags")
	fs.StringVarP(&r.delimiter, "prefix-delimiter", "D", ":", "delimiter between key prefixes and IDs for per-prefix stats")
	fs.IntVarP(&r.threads, "threads", "t", d.Threads, "number of gateway relays doing network I/O, at most one per processor; each cache agent stays one thread (GOMAXPROCS in the environment sets the OS threads)")
	fs.IntVarP(&r.maxReqs, "max-reqs-per-event", "R", d.MaxReqsPerEvent, "max requests handled per connection before yielding to others")
	fs.BoolVarP(&r.noCAS, "disable-cas", "C", false, "disable use of CAS")
	fs.IntVarP(&r.backlog, "listen-backlog", "b", d.ListenBacklog, "backlog queue limit of each listener")
	fs.StringVarP(&r.protocol, "protocol", "B", string(d.Protocol), "protocol: auto, ascii or binary")
	fs.StringVarP(&r.maxItemSize, "max-item-size", "I", "1m", "max item size, k/m suffixes (min 1k, max 128m, at most half of -m; memcached allows 1024m)")
	fs.BoolVarP(&r.noFlush, "disable-flush-all", "F", false, "disable the flush_all command")
	fs.BoolVarP(&r.noDump, "disable-dumping", "X", false, "disable stats cachedump and lru_crawler metadump")
	fs.BoolVarP(&r.noWatch, "disable-watch", "W", false, "disable the watch command (live logging)")
	fs.StringVarP(&r.authFile, "auth-file", "Y", "", "enable ASCII protocol authentication; file of user:pass lines")
	fs.BoolVarP(&r.ssl, "enable-ssl", "Z", false, "enable TLS, terminated inside the cache agent; without ssl_chain_cert a trusted agent serves an RA-TLS certificate (see -o ssl_*)")
	fs.StringArrayVarP(&r.extended, "extended", "o", nil, "comma-separated extended options key=value (see README)")
	fs.BoolVarP(&r.lockMemory, "lock-memory", "k", false, "accepted, no effect (the Go runtime manages memory)")
	fs.BoolVarP(&r.largePages, "enable-largepages", "L", false, "preallocate all of -m at start as one chunk backed by transparent huge pages (fewer TLB misses)")
	fs.StringVarP(&r.memoryFile, "memory-file", "e", "", "warm restart: on a graceful stop (SIGUSR1, \"shutdown graceful\") write the items to this file sealed to the cache agent's enclave, and restore them at start (see docs/warm-restart.md)")
	fs.BoolVarP(&r.coreDumps, "enable-coredumps", "r", false, "accepted, no effect")
	fs.BoolVarP(&r.sasl, "enable-sasl", "S", false, "SASL authentication: refused, use -Y")
	fs.IntVarP(&r.napiIDs, "napi_ids", "N", 0, "accepted, no effect: memcached pins NAPI ids to worker threads; Go's relays cannot steer them")
	return fs
}

// Parse reads memcached's command line (without the program name) and returns
// validated settings. Every error matches ErrUsage. When -h or -V is given
// the returned settings say so and the rest is not validated, like memcached.
func Parse(args []string) (Settings, error) {
	var r rawFlags
	fs := newFlagSet(&r)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return Settings{ShowHelp: true}, nil
		}
		return Settings{}, usagef("%v (see -h)", err)
	}
	if fs.NArg() > 0 {
		return Settings{}, usagef("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if r.help {
		return Settings{ShowHelp: true}, nil
	}
	if r.version {
		return Settings{ShowVersion: true}, nil
	}
	if r.license {
		return Settings{ShowLicense: true}, nil
	}
	s, err := r.settings(fs)
	if err != nil {
		return Settings{}, err
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// settings interprets the raw values: memcached's size, mask, list and
// sub-option syntaxes.
func (r *rawFlags) settings(fs *pflag.FlagSet) (Settings, error) {
	s := Defaults()
	s.Port = r.port
	s.UDPPort = r.udpPort
	s.UnixSocket = r.unixSocket
	s.EnableShutdown = r.shutdown
	s.User = r.user
	s.DisableEvictions = r.noEvict
	s.ConnLimit = r.connLimit
	s.Verbose = r.verbose
	s.SlabGrowthFactor = r.factor
	s.SlabMinSize = r.minSize
	s.Threads = r.threads
	s.MaxReqsPerEvent = r.maxReqs
	s.DisableCAS = r.noCAS
	s.ListenBacklog = r.backlog
	s.DisableFlushAll = r.noFlush
	s.DisableDumping = r.noDump
	s.DisableWatch = r.noWatch
	s.AuthFile = r.authFile
	s.EnableSSL = r.ssl
	s.LargePages = r.largePages
	s.MemoryFile = r.memoryFile

	if r.daemon {
		return s, usagef("-d (daemon mode) is not supported: run securecached in the foreground under a supervisor such as systemd")
	}
	if r.sasl {
		return s, usagef("-S (SASL) is not supported: use -Y for ASCII authentication")
	}
	if fs.Changed("napi_ids") && r.napiIDs <= 0 {
		return s, usagef("Maximum number of NAPI IDs must be greater than 0")
	}
	for _, name := range []string{"lock-memory", "enable-coredumps", "pidfile", "napi_ids"} {
		if fs.Changed(name) {
			s.Warnings = append(s.Warnings, fmt.Sprintf("--%s has no effect in securecached; ignored", name))
		}
	}
	if r.memoryMB <= 0 {
		return s, usagef("Memory limit must be greater than 0 megabytes (-m %d)", r.memoryMB)
	}
	if r.memoryMB > 1<<30 {
		return s, usagef("Memory limit of %d megabytes is too large", r.memoryMB)
	}
	s.MemoryLimit = r.memoryMB << 20

	if fs.Changed("listen") {
		s.Listen = splitList(r.listen)
		if len(s.Listen) == 0 {
			return s, usagef("-l needs at least one address")
		}
	}
	mask, err := strconv.ParseUint(r.unixMask, 8, 32)
	if err != nil || mask > 0o777 {
		return s, usagef("Invalid unix socket mask %q: want octal permissions such as 700", r.unixMask)
	}
	s.UnixMask = fileMode(mask)

	size, err := ParseSize(r.maxItemSize)
	if err != nil {
		return s, usagef("Invalid item max size %q: %v", r.maxItemSize, err)
	}
	s.MaxItemSize = size

	switch p := Protocol(r.protocol); p {
	case ProtocolAuto, ProtocolASCII, ProtocolBinary:
		s.Protocol = p
	default:
		return s, usagef("Invalid value for binding protocol: %s\n -- should be one of auto, binary, or ascii", r.protocol)
	}
	if len(r.delimiter) != 1 {
		return s, usagef("Prefix delimiter (-D) must be a single character, got %q", r.delimiter)
	}
	s.PrefixDelimiter = r.delimiter[0]

	for _, list := range r.extended {
		if err := s.applyExtended(list); err != nil {
			return s, err
		}
	}
	return s, nil
}

// splitList flattens repeated, comma-separated values, dropping empty items.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// Usage writes the -h text.
func Usage(w io.Writer) {
	var r rawFlags
	fs := newFlagSet(&r)
	fmt.Fprintf(w, "%s\nUsage: securecached [options]\n", VersionLine)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, extendedUsage)
}
