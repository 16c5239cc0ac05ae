package conn

import (
	"strconv"
	"strings"
	"time"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// Live logging ("watch") and item dumps ("lru_crawler metadump"), as in
// memcached 1.6. Both put keys on the wire, so a trusted cache agent
// serves them only over TLS, which ends inside the enclave: a plaintext
// connection to a trusted agent passes through the untrusted gateway,
// which must not see keys. Untrusted agents serve both on any connection.

// watchFlag selects a watch stream (memcached's LOG_* event flags).
type watchFlag uint8

const (
	watchFetchers watchFlag = 1 << iota
	watchMutations
	watchEvictions
	watchConnEvents
	watchDeletions
)

var watchNames = map[string]watchFlag{
	"fetchers": watchFetchers, "mutations": watchMutations, "evictions": watchEvictions,
	"connevents": watchConnEvents, "deletions": watchDeletions,
}

// Limits from memcached: WATCHER_LIMIT watchers at once, and
// watcher_logbuf_size bytes of lines a watcher may have unsent before
// further lines are dropped (and counted in a "skipped=N" line).
const (
	maxWatchers       = 20
	watcherBufferSize = 256 << 10
)

// Replies of the trust rule above.
const (
	replyWatchPlaintext    = "CLIENT_ERROR watch refused: this cache agent is trusted and the connection is not TLS; keys must not leave the enclave in clear"
	replyMetaDumpPlaintext = "CLIENT_ERROR metadump refused: this cache agent is trusted and the connection is not TLS; keys must not leave the enclave in clear"
)

// watchHub is the server's watchers. It lives in Shared and, like every
// connection of the server, is used only by the goroutine that holds the
// engine (the cache agent's baton), so it needs no lock.
type watchHub struct {
	watchers []*Conn
	flags    watchFlag // union of the watchers' flags
	gid      uint64    // memcached's logger gid: one per line, server-wide
	cfd      int       // the connection whose requests run now (fetch lines)
	line     []byte
}

// opsState is a connection's part in watch and metadump.
type opsState struct {
	tls        bool      // the connection is TLS ended in this agent
	id         int       // the host's number for it (watch lines' cfd)
	waker      func()    // asks the host to send this connection's output
	watchFlags watchFlag // non-zero: this connection is a watcher
	skipped    uint64    // lines dropped since the last one sent
	rip        string    // client address for connevents (see Opened)
	rport      int
	transport  string
	dumping    bool // a metadump is part way
	dumpCursor memcache.MetaDumpCursor
	dumpClass  []bool
}

// SetTLS records that the connection is TLS terminated in this agent.
func (c *Conn) SetTLS(tls bool) { c.ops.tls = tls }

// SetWaker gives the connection the host's number for it (shown as cfd
// in watch lines) and a function that makes the host send its output
// soon. A watcher's lines are produced while other connections
// run; the host must not call into the connection from wake, only
// schedule a send (wake runs under the engine's owner, inside another
// connection's Feed or Process).
func (c *Conn) SetWaker(id int, wake func()) { c.ops.id, c.ops.waker = id, wake }

// keysAllowed is the trust rule for commands that put keys on the wire.
func (c *Conn) keysAllowed() bool { return !c.set.Trusted || c.ops.tls }

// execWatch is memcached's process_watch_command. The connection then
// only receives lines; what the client sends is read and dropped, and it
// stops being a watcher when it closes.
func (c *Conn) execWatch(r *protocol.Request) {
	switch {
	case c.set.WatchDisabled:
		c.replyUnlessNoreply(r, replyWatchOff)
		return
	case !c.keysAllowed():
		c.replyUnlessNoreply(r, replyWatchPlaintext)
		return
	case c.pending() > 0:
		c.replyUnlessNoreply(r, "ERROR cannot pipeline other commands before watch")
		return
	}
	var f watchFlag
	for _, a := range r.Args {
		flag, ok := watchNames[string(a)]
		if !ok {
			c.replyUnlessNoreply(r, protocol.ReplyError)
			return
		}
		f |= flag
	}
	if f == 0 {
		f = watchFetchers
	}
	h := &c.shared.watch
	if len(h.watchers) >= maxWatchers {
		c.replyUnlessNoreply(r, "WATCHER_TOO_MANY log watcher limit reached")
		return
	}
	c.ops.watchFlags = f
	h.watchers = append(h.watchers, c)
	h.flags |= f
	c.reply(replyOK)
}

// unwatch removes a closing watcher.
func (c *Conn) unwatch() {
	if c.ops.watchFlags == 0 {
		return
	}
	h := &c.shared.watch
	h.flags = 0
	kept := h.watchers[:0]
	for _, w := range h.watchers {
		if w != c {
			kept = append(kept, w)
			h.flags |= w.ops.watchFlags
		}
	}
	clear(h.watchers[len(kept):])
	h.watchers = kept
	c.ops.watchFlags = 0
}

// watching reports whether any watcher wants lines of kind f.
func (c *Conn) watching(f watchFlag) bool { return c.shared.watch.flags&f != 0 }

// emitWatch sends one line, memcached's "ts=SEC.USEC gid=N " prefix and
// body, to every watcher of kind f.
func (c *Conn) emitWatch(f watchFlag, body func([]byte) []byte) { c.shared.watch.emit(f, body) }

func (h *watchHub) emit(f watchFlag, body func([]byte) []byte) {
	h.gid++
	now := time.Now()
	b := append(h.line[:0], "ts="...)
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(now.Nanosecond()/1000), 10) // memcached prints %d, unpadded
	b = append(b, " gid="...)
	b = strconv.AppendUint(b, h.gid, 10)
	b = append(b, ' ')
	b = append(body(b), '\n')
	h.line = b
	for _, w := range h.watchers {
		if w.ops.watchFlags&f != 0 && !w.closed {
			w.watchWrite(b)
		}
	}
}

// watchWrite queues one log line for a watcher. execWatch starts a
// watcher only with nothing pending, and a watcher then runs no command,
// so it never streams a value from an item (stream.go); the checks below
// still go through pending and streaming rather than rest on that.
func (c *Conn) watchWrite(line []byte) {
	if c.pending()+len(line) > watcherBufferSize {
		c.ops.skipped++
		return
	}
	if c.sent > 0 && c.sent >= len(c.out)/2 && !c.streaming() {
		// A watcher whose client keeps up but never quite drains would
		// otherwise keep every line it was ever sent (Sent resets the
		// buffer only once it is empty). Safe here: the host never holds
		// an Output slice across a call into any connection, and no value
		// is streamed from an item, whose place in out (st.at) the copy
		// would move.
		n := copy(c.out, c.out[c.sent:])
		c.out, c.flushed, c.sent = c.out[:n], max(c.flushed-c.sent, 0), 0
	}
	if c.ops.skipped > 0 {
		c.out = append(c.out, "skipped="...)
		c.out = strconv.AppendUint(c.out, c.ops.skipped, 10)
		c.out = append(c.out, '\n')
		c.ops.skipped = 0
	}
	c.out = append(c.out, line...)
	if c.ops.waker != nil {
		c.ops.waker()
	}
}

// WatchFetch logs a lookup (memcached's item_get line); the host gives it
// to the engine as its fetch hook, so every lookup a command makes is
// logged, as memcached logs every do_item_get. The line names the
// connection whose command is running (see Process).
func (s *Shared) WatchFetch(key []byte, status memcache.FetchStatus, class, size int) {
	h := &s.watch
	if h.flags&watchFetchers == 0 {
		return
	}
	h.emit(watchFetchers, func(b []byte) []byte {
		b = append(b, "type=item_get key="...)
		b = memcache.AppendURIEncoded(b, key)
		b = append(b, " status="...)
		b = append(b, status.String()...)
		b = append(b, " clsid="...)
		b = strconv.AppendInt(b, int64(class), 10)
		b = append(b, " cfd="...)
		b = strconv.AppendInt(b, int64(h.cfd), 10)
		b = append(b, " size="...)
		return strconv.AppendInt(b, int64(size), 10)
	})
}

// storeWatchStatus and storeWatchCmd are memcached's status_map and
// cmd_map of item_store lines.
func storeWatchStatus(res memcache.Result) string {
	switch res {
	case memcache.Stored:
		return "stored"
	case memcache.Exists:
		return "exists"
	case memcache.NotFound:
		return "not_found"
	case memcache.TooLarge:
		return "too_large"
	case memcache.NoMemory:
		return "no_memory"
	}
	return "not_stored"
}

var storeWatchCmd = map[memcache.Mode]string{
	memcache.ModeAdd: "add", memcache.ModeSet: "set", memcache.ModeReplace: "replace",
	memcache.ModeAppend: "append", memcache.ModePrepend: "prepend", memcache.ModeCAS: "cas",
}

// watchStore logs a store (memcached's item_store line). ttl is the
// request's exptime turned into seconds from now, 0 for never. As in
// memcached, the class and size are the stored item's (an append's whole
// value), or for a store that failed those of the item it would have made.
func (c *Conn) watchStore(mode memcache.Mode, key []byte, flags uint32, exptime int64, size int, res memcache.Result) {
	class := c.cache.ClassFor(len(key), flags, size)
	if res == memcache.Stored {
		class, size, _ = c.cache.WatchInfo(key)
	}
	ttl := exptime
	if exptime > memcache.RealtimeMaxDelta {
		ttl = max(exptime-c.cache.Now().Unix(), 0)
	}
	c.emitWatch(watchMutations, func(b []byte) []byte {
		b = append(b, "type=item_store key="...)
		b = memcache.AppendURIEncoded(b, key)
		b = append(b, " status="...)
		b = append(b, storeWatchStatus(res)...)
		b = append(b, " cmd="...)
		b = append(b, storeWatchCmd[mode]...)
		b = append(b, " ttl="...)
		b = strconv.AppendInt(b, max(ttl, 0), 10)
		b = append(b, " clsid="...)
		b = strconv.AppendInt(b, int64(class), 10)
		b = append(b, " cfd="...)
		b = strconv.AppendInt(b, int64(c.ops.id), 10)
		b = append(b, " size="...)
		return strconv.AppendInt(b, int64(size), 10)
	})
}

// deleteWatch runs a delete and logs it when it removed the item (the
// "deleted" line of memcached releases after 1.6.18, whose 1.6.18 has no
// deletions stream); the item's class and size are read before it goes.
func (c *Conn) deleteWatch(key []byte, cmd string, del func() memcache.Result) memcache.Result {
	if !c.watching(watchDeletions) {
		return del()
	}
	class, size, _ := c.cache.WatchInfo(key)
	res := del()
	if res != memcache.Deleted {
		return res
	}
	c.emitWatch(watchDeletions, func(b []byte) []byte {
		b = append(b, "type=deleted key="...)
		b = memcache.AppendURIEncoded(b, key)
		b = append(b, " cmd="...)
		b = append(b, cmd...)
		b = append(b, " clsid="...)
		b = strconv.AppendInt(b, int64(class), 10)
		b = append(b, " size="...)
		return strconv.AppendInt(b, int64(size), 10)
	})
	return res
}

// WatchEviction logs an eviction (memcached's eviction line); the host
// gives it to the engine as its eviction hook.
func (s *Shared) WatchEviction(e memcache.Eviction) {
	if s.watch.flags&watchEvictions == 0 {
		return
	}
	s.watch.emit(watchEvictions, func(b []byte) []byte {
		b = append(b, "type=eviction key="...)
		b = memcache.AppendURIEncoded(b, e.Key)
		if e.Fetched {
			b = append(b, " fetch=yes ttl="...)
		} else {
			b = append(b, " fetch=no ttl="...)
		}
		b = strconv.AppendInt(b, e.TTL, 10)
		b = append(b, " la="...)
		b = strconv.AppendUint(b, uint64(e.LastAccess), 10)
		b = append(b, " clsid="...)
		b = strconv.AppendInt(b, int64(e.Class), 10)
		b = append(b, " size="...)
		return strconv.AppendInt(b, int64(e.Size), 10)
	})
}

// Opened records the client's address, shown in connevents lines (rip
// "unix" and rport 0 for a unix socket; transport "tcp" or "local"), and
// logs its arrival (memcached's conn_new line). Close logs its departure
// (conn_close, reason "normal": the host does not tell a client's quit
// from an error or an idle timeout).
func (c *Conn) Opened(rip string, rport int, transport string) {
	c.ops.rip, c.ops.rport, c.ops.transport = rip, rport, transport
	c.watchConnEvent(true)
}

func (c *Conn) watchConnEvent(open bool) {
	if !c.watching(watchConnEvents) || c.ops.transport == "" {
		return
	}
	c.emitWatch(watchConnEvents, func(b []byte) []byte {
		if open {
			b = append(b, "type=conn_new rip="...)
		} else {
			b = append(b, "type=conn_close rip="...)
		}
		b = append(b, c.ops.rip...)
		b = append(b, " rport="...)
		b = strconv.AppendInt(b, int64(c.ops.rport), 10)
		b = append(b, " transport="...)
		b = append(b, c.ops.transport...)
		if !open {
			b = append(b, " reason=normal"...)
		}
		b = append(b, " cfd="...)
		return strconv.AppendInt(b, int64(c.ops.id), 10)
	})
}

// execMetaDump is "lru_crawler metadump all|hash|<classes>": the live
// items' metadata, streamed a share at a time like a large multi-get, then
// END.
func (c *Conn) execMetaDump(classes string) {
	switch {
	case c.set.DumpDisabled:
		c.reply("ERROR metadump not allowed")
		return
	case !c.keysAllowed():
		c.reply(replyMetaDumpPlaintext)
		return
	case c.pending() > 0:
		c.reply("ERROR cannot pipeline other commands before metadump")
		return
	}
	var sel []bool
	if classes != "all" && classes != "hash" {
		if !validCrawlClasses(classes) {
			c.reply("BADCLASS invalid class id")
			return
		}
		sel = make([]bool, maxSlabClassID)
		for _, f := range strings.Split(classes, ",") {
			id, _ := strconv.Atoi(f)
			sel[id] = true
		}
	}
	c.ops.dumping, c.ops.dumpCursor, c.ops.dumpClass = true, memcache.MetaDumpCursor{}, sel
	c.resumeMetaDump()
}

// resumeMetaDump continues a metadump until it ends (true, END appended)
// or maxPendingOutput bytes wait to be sent (false).
func (c *Conn) resumeMetaDump() bool {
	for {
		room := maxPendingOutput - c.pending()
		if room <= 0 {
			c.flush()
			return false
		}
		var done bool
		c.out, done = c.cache.AppendMetaDump(c.out, &c.ops.dumpCursor, c.ops.dumpClass, room)
		if done {
			c.ops.dumping, c.ops.dumpClass = false, nil
			c.out = protocol.AppendEnd(c.out)
			c.flush()
			return true
		}
	}
}
