package conn

import (
	"slices"
	"strconv"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// Text protocol replies the connection (rather than the parser) produces.
const (
	replyStored        = "STORED"
	replyNotStored     = "NOT_STORED"
	replyExists        = "EXISTS"
	replyNotFound      = "NOT_FOUND"
	replyDeleted       = "DELETED"
	replyTouched       = "TOUCHED"
	replyOK            = "OK"
	replyIncrNoMemory  = "SERVER_ERROR out of memory"
	replyFlushDisabled = "CLIENT_ERROR flush_all not allowed"
	replyShutdownOff   = "ERROR: shutdown not enabled"
	replyShutdownMode  = "CLIENT_ERROR invalid shutdown mode"
	replyWatchOff      = "CLIENT_ERROR watch commands not allowed"
	replyReassignOff   = "CLIENT_ERROR slab reassignment disabled"
)

// maxVerbosity is memcached's MAX_VERBOSITY_LEVEL.
const maxVerbosity = 2

// execText executes one parsed text or meta request.
func (c *Conn) execText(r *protocol.Request) {
	if r.Close {
		c.close()
		return
	}
	if r.Swallow > 0 {
		c.swallow = r.Swallow
	}
	if r.Err == protocol.ReplyTooLarge && r.Key != nil {
		// A text set, and an ms in any mode, lose the key's old value.
		mode := memcache.ModeSet
		if r.Cmd != protocol.CmdMetaSet {
			mode = textMode(r.Cmd)
		}
		c.refuseTooLarge(mode, r.Key, r.Flags, int64(r.Exptime), r.Swallow-2)
	}
	if r.Err != "" {
		// A get with a too long key still looks up the keys before it,
		// then drops every reply memcached still had queued.
		if isGet(r.Cmd) && r.Err == protocol.ReplyBadFormat {
			c.lookupOnly(r)
			c.discardQueued()
		}
		c.replyUnlessNoreply(r, r.Err)
		return
	}
	switch r.Cmd {
	case protocol.CmdGet, protocol.CmdGets, protocol.CmdGat, protocol.CmdGats:
		c.execGet(r)
	case protocol.CmdSet, protocol.CmdAdd, protocol.CmdReplace, protocol.CmdAppend,
		protocol.CmdPrepend, protocol.CmdCas:
		c.execUpdate(r)
	case protocol.CmdDelete:
		del := func() memcache.Result { return c.cache.Delete(r.Key, memcache.DeleteOptions{}) }
		switch c.deleteWatch(r.Key, "delete", del) {
		case memcache.Deleted:
			c.replyUnlessNoreply(r, replyDeleted)
		default:
			c.replyUnlessNoreply(r, replyNotFound)
		}
	case protocol.CmdIncr, protocol.CmdDecr:
		c.execArith(r)
	case protocol.CmdTouch:
		if c.cache.Touch(r.Key, int64(r.Exptime)) == memcache.Touched {
			c.replyUnlessNoreply(r, replyTouched)
		} else {
			c.replyUnlessNoreply(r, replyNotFound)
		}
	case protocol.CmdStats:
		c.execStats(r)
	case protocol.CmdFlushAll:
		c.execFlushAll(r)
	case protocol.CmdVersion:
		c.reply("VERSION " + c.set.Version)
	case protocol.CmdQuit:
		c.close()
	case protocol.CmdVerbosity:
		level, ok := protocol.ParseUint32(r.Args[0])
		if !ok {
			c.replyUnlessNoreply(r, protocol.ReplyBadFormat)
			return
		}
		c.host.SetVerbosity(min(level, maxVerbosity))
		if c.tracer != nil {
			// memcached's next line already obeys the new level.
			c.refreshTracing()
		}
		c.replyUnlessNoreply(r, replyOK)
	case protocol.CmdShutdown:
		c.execShutdown(r)
	case protocol.CmdMetaNoop:
		c.reply("MN")
		c.flush()
	case protocol.CmdMetaGet:
		c.execMetaGet(r)
	case protocol.CmdMetaSet:
		c.execMetaSet(r)
	case protocol.CmdMetaDelete:
		c.execMetaDelete(r)
	case protocol.CmdMetaArithmetic:
		c.execMetaArith(r)
	case protocol.CmdMetaDebug:
		c.execMetaDebug(r)
	default:
		c.execAdmin(r)
	}
}

// replyUnlessNoreply is memcached's out_string: a request that asked for
// noreply gets nothing back, not even an error, unless the error is forced.
func (c *Conn) replyUnlessNoreply(r *protocol.Request, s string) {
	if r.Noreply && !r.ErrForced {
		if c.tracing {
			c.traceString(TraceOut, "NOREPLY ", s)
		}
		return
	}
	c.reply(s)
}

// lookupOnly performs the lookups memcached makes before it meets a bad key
// in a multi-get; their output is discarded, their statistics (and -vv
// lines) stay.
func (c *Conn) lookupOnly(r *protocol.Request) {
	for _, k := range r.Keys {
		var ok bool
		if r.HasExptime {
			_, ok = c.cache.GetAndTouch(k, int64(r.Exptime))
		} else {
			_, ok = c.cache.Get(k)
		}
		if ok && c.tracing {
			c.traceSendingKey(k)
		}
	}
	if c.tracing {
		c.traceString(TraceOut, "", "END")
	}
}

// traceSendingKey is memcached's -vv line for each hit of a get.
func (c *Conn) traceSendingKey(key []byte) {
	c.traceBuf = append(append(c.traceBuf[:0], "sending key "...), key...)
	c.traceLine(TraceOut, c.traceBuf)
}

func (c *Conn) execGet(r *protocol.Request) {
	c.get = pendingGet{active: true, keys: r.Keys, withCas: r.Cmd == protocol.CmdGets || r.Cmd == protocol.CmdGats,
		touch: r.HasExptime, exptime: int64(r.Exptime)}
	c.resumeGet()
}

// pendingGet is a multi-get whose replies are produced a share at a time
// (see maxPendingOutput).
type pendingGet struct {
	active  bool
	keys    [][]byte // still to look up
	owned   bool     // keys are copies (the get was suspended)
	withCas bool
	touch   bool
	exptime int64
}

// resumeGet looks up the pending get's keys until they are done (true,
// END appended) or the output reaches maxPendingOutput with keys left
// (false: the host sends the output and calls Process again).
func (c *Conn) resumeGet() bool {
	g := &c.get
	for len(g.keys) > 0 {
		if c.pending() >= maxPendingOutput {
			// The replies so far go out now; the keys still point into
			// the input, which Feed may compact, so keep copies.
			c.flush()
			g.own()
			return false
		}
		k := g.keys[0]
		g.keys = g.keys[1:]
		var v memcache.View
		var ok bool
		if g.touch {
			v, ok = c.cache.GetAndTouch(k, g.exptime)
		} else {
			v, ok = c.cache.Get(k)
		}
		if ok {
			if c.tracing {
				c.traceSendingKey(v.Key)
			}
			if c.fromItem(&v) {
				c.out = protocol.AppendValueLine(c.out, v.Key, v.Flags, len(v.Value), v.CAS, g.withCas)
				c.appendValue(&v)
				c.out = append(c.out, '\r', '\n')
			} else {
				c.out = protocol.AppendValue(c.out, v.Key, v.Flags, v.Value, v.CAS, g.withCas)
			}
		}
	}
	g.active, g.keys = false, nil
	if c.tracing {
		c.traceString(TraceOut, "", "END")
	}
	c.out = protocol.AppendEnd(c.out)
	c.flush()
	return true
}

// own copies the remaining keys out of the input buffer, once.
func (g *pendingGet) own() {
	if g.owned {
		return
	}
	n := 0
	for _, k := range g.keys {
		n += len(k)
	}
	buf := make([]byte, 0, n)
	for i, k := range g.keys {
		buf = append(buf, k...)
		g.keys[i] = buf[len(buf)-len(k):]
	}
	g.keys = slices.Clone(g.keys) // the request's slice is reused by the next parse
	g.owned = true
}

// refuseTooLarge lets the engine see a store whose value the parser
// refused as too large, without the value: memcached counts it in
// store_too_large and, for a set, drops the key's old value so a stale
// value does not outlive a failed set.
func (c *Conn) refuseTooLarge(mode memcache.Mode, key []byte, flags uint32, exptime int64, valueLen int) {
	if mode == memcache.ModeCAS {
		mode = memcache.ModeReplace // same outcome, and no CAS to check
	}
	rsv, res, err := c.cache.Reserve(mode, key, flags, exptime, valueLen, memcache.StoreOptions{})
	if err == nil && res == memcache.Stored {
		// Cannot happen for a value over -I; never leak the chunk.
		c.cache.Abort(&rsv)
	}
}

func isGet(cmd protocol.Cmd) bool {
	switch cmd {
	case protocol.CmdGet, protocol.CmdGets, protocol.CmdGat, protocol.CmdGats:
		return true
	}
	return false
}

func textMode(cmd protocol.Cmd) memcache.Mode {
	switch cmd {
	case protocol.CmdAdd:
		return memcache.ModeAdd
	case protocol.CmdReplace:
		return memcache.ModeReplace
	case protocol.CmdAppend:
		return memcache.ModeAppend
	case protocol.CmdPrepend:
		return memcache.ModePrepend
	case protocol.CmdCas:
		return memcache.ModeCAS
	}
	return memcache.ModeSet
}

func (c *Conn) execUpdate(r *protocol.Request) {
	if !r.ValueOK {
		c.replyUnlessNoreply(r, protocol.ReplyBadDataChunk)
		return
	}
	mode, flags, exp, opt := textStoreArgs(r)
	res, _, err := c.store(mode, r.Key, flags, exp, r.Value, opt)
	if err == nil && c.watching(watchMutations) {
		c.watchStore(mode, r.Key, flags, exp, len(r.Value), res)
	}
	if err != nil {
		// The parser only passes keys of 1..250 bytes and known modes.
		c.replyUnlessNoreply(r, protocol.ReplyBadFormat)
		return
	}
	c.replyUnlessNoreply(r, storeReply(res))
}

// textStoreArgs is how a set, add, replace, append, prepend or cas
// request stores.
func textStoreArgs(r *protocol.Request) (memcache.Mode, uint32, int64, memcache.StoreOptions) {
	return textMode(r.Cmd), r.Flags, int64(r.Exptime), memcache.StoreOptions{CAS: r.Cas}
}

func storeReply(res memcache.Result) string {
	switch res {
	case memcache.Stored:
		return replyStored
	case memcache.Exists:
		return replyExists
	case memcache.NotFound:
		return replyNotFound
	case memcache.TooLarge:
		return protocol.ReplyTooLarge
	case memcache.NoMemory:
		return protocol.ReplyOutOfMemory
	}
	return replyNotStored
}

func (c *Conn) execArith(r *protocol.Request) {
	var v uint64
	var res memcache.Result
	if r.Cmd == protocol.CmdIncr {
		v, res = c.cache.Incr(r.Key, r.Delta)
	} else {
		v, res = c.cache.Decr(r.Key, r.Delta)
	}
	switch res {
	case memcache.Hit:
		if c.tracing {
			c.traceNumber(r.Noreply, v)
		}
		if !r.Noreply {
			c.out = protocol.AppendUintLine(c.out, v)
		}
	case memcache.NonNumeric:
		c.replyUnlessNoreply(r, protocol.ReplyNonNumeric)
	case memcache.NoMemory:
		c.replyUnlessNoreply(r, replyIncrNoMemory)
	default:
		c.replyUnlessNoreply(r, replyNotFound)
	}
}

func (c *Conn) execFlushAll(r *protocol.Request) {
	if c.set.FlushDisabled {
		c.replyUnlessNoreply(r, replyFlushDisabled)
		return
	}
	want := 2
	if r.Noreply {
		want = 3
	}
	if r.NTokens != want && !r.HasExptime {
		c.replyUnlessNoreply(r, protocol.ReplyInvalidExptime)
		return
	}
	c.cache.FlushAll(int64(r.Exptime))
	c.replyUnlessNoreply(r, replyOK)
}

func (c *Conn) execShutdown(r *protocol.Request) {
	if !c.set.ShutdownEnabled {
		c.reply(replyShutdownOff)
		return
	}
	switch {
	case r.NTokens == 2:
		c.host.Shutdown(false)
		c.close()
	case r.NTokens == 3 && string(r.Args[0]) == "graceful":
		c.host.Shutdown(true)
		c.close()
	default:
		c.reply(replyShutdownMode)
	}
}

// traceNumber is the -vv line of an incr or decr hit, which memcached
// sends through out_string like any other reply.
func (c *Conn) traceNumber(noreply bool, v uint64) {
	b := c.traceBuf[:0]
	if noreply {
		b = append(b, "NOREPLY "...)
	}
	c.traceBuf = strconv.AppendUint(b, v, 10)
	c.traceLine(TraceOut, c.traceBuf)
}
