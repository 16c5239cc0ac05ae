package main

import (
	"os"
	"runtime/debug"

	"github.com/securecached/securecached/config"
)

// The collector's memory limit. Slab pages live outside the Go heap
// (memcache/offheap.go), so the heap holds only what the connections and
// the runtime's queues hold, plus garbage. That heap is small, and with
// GOGC=100 alone the collector would run at every few megabytes of
// garbage (when the pages were in the heap, their size spaced the
// collections out); and a burst of live buffers (clients that stop
// reading, each holding its window of replies) would double again as
// garbage before a collection. So the collector runs when the heap
// reaches a fixed limit instead (GOGC off, debug.SetMemoryLimit): few
// collections, and a heap bounded by the limit while what is live stays
// below it.
//
// memLimitBase is what a server with no clients uses, with room to spare;
// memLimitPerConn is what each of -c connections may keep between
// requests (conn's maxIdleBuffer). bench/RESULTS.md (bench/memcaslap.sh
// and the noread case of bench/rss-hostile.sh) has the measurements that
// chose them.
const (
	memLimitBase    = 64 << 20
	memLimitPerConn = 64 << 10
)

// setMemoryLimit sets the collector's limit from -c, unless GOMEMLIMIT in
// the environment chose one, and turns GOGC's proportional pacing off
// unless GOGC in the environment is set. It returns the limit set, or 0.
func setMemoryLimit(set config.Settings) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := int64(memLimitBase) + int64(max(set.ConnLimit, 0))*memLimitPerConn
	debug.SetMemoryLimit(limit)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(-1)
	}
	return limit
}
