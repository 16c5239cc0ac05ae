package main

import (
	"os"
	"runtime/debug"

	"github.com/securecached/securecached/config"
)

// The collector's soft memory limit. Slab pages live outside the Go heap
// (memcache/offheap.go), so the heap holds only what the connections and
// the runtime's queues hold, plus garbage; with GOGC=100 alone a burst of
// live buffers (clients that stop reading, each holding its window of
// replies) doubles again as garbage before a collection. The limit lets
// the heap grow to it freely and collects harder past it.
//
// memLimitBase is what a server with no clients uses, with room to spare;
// memLimitPerConn is what each of -c connections may keep between
// requests (conn's maxIdleBuffer). bench/RESULTS.md (noread case of
// bench/rss-hostile.sh) has the measurements that chose them.
const (
	memLimitBase    = 64 << 20
	memLimitPerConn = 64 << 10
)

// setMemoryLimit sets the collector's soft limit from -c, unless
// GOMEMLIMIT in the environment chose one. It returns the limit set, or 0.
func setMemoryLimit(set config.Settings) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := int64(memLimitBase) + int64(max(set.ConnLimit, 0))*memLimitPerConn
	debug.SetMemoryLimit(limit)
	return limit
}
