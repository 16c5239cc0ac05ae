package conn

import (
	"bytes"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// A large value is read straight into its item, as memcached does: when a
// storage request's head (its text line, or its binary header, extras and
// key) has arrived and its value has not, the connection reserves the
// item in the engine at once and copies the value's bytes into it as they
// come. The value is then accounted against -m from its first byte: a
// value that cannot fit is refused before it is read (memcached's
// "SERVER_ERROR out of memory storing object" or "object too large for
// cache", then its bytes are swallowed), and a client holding a value
// half sent holds one chunk of -m, not a buffer of its own outside it.
//
// Smaller values (below streamMin) are buffered in the input as before:
// they are complete in one or a few reads, and the input buffer is
// bounded by streamMin plus one read.

// streamMin is the smallest value read into its reserved item rather than
// buffered: the input a connection buffers is at most about this much
// plus one read.
const streamMin = 64 << 10

// nread is the value being read into a reservation.
type nread struct {
	active bool
	rsv    memcache.Reservation
	filled int  // bytes of rsv.Value received
	crlf   bool // a text value, followed by "\r\n"
	// head is a copy of the request's head: the parsed request (c.req or
	// c.binReq) aliases it, so the input buffer can be reused meanwhile.
	head []byte
}

// startNread begins reading the value of the request at the start of buf
// into a reserved item, when its value is large and not yet all there.
// It reports whether it consumed the request's head (the value's bytes
// then go to the reservation, or are swallowed if it was refused). need
// is what the parser asked buf to reach.
func (c *Conn) startNread(buf []byte, need int) bool {
	var headLen int
	if c.proto == ProtocolBinary {
		if len(buf) < protocol.BinHeaderLen {
			return false
		}
		h := protocol.DecodeBinHeader(buf)
		headLen = protocol.BinHeaderLen + int(h.ExtLen) + int(h.KeyLen)
		if op, _ := protocol.BinCanonical(h.Opcode); !binStorage(op) {
			return false
		}
	} else {
		if !c.req.Cmd.IsStorage() || c.req.Err != "" {
			return false
		}
		headLen = bytes.IndexByte(buf, '\n') + 1
	}
	if headLen <= 0 || len(buf) < headLen || need-headLen < streamMin || len(buf) >= need {
		return false
	}
	// Parse again from a copy, so the request aliases the copy.
	n := &c.nr
	n.head = append(n.head[:0], buf[:headLen]...)
	var again int
	if c.proto == ProtocolBinary {
		c.bin = protocol.BinParser{MaxItemSize: c.bin.MaxItemSize}
		_, again = c.bin.Parse(n.head, &c.binReq)
	} else {
		c.text = protocol.TextParser{MaxItemSize: c.text.MaxItemSize}
		_, again = c.text.Parse(n.head, &c.req)
		// The parser remembers where it stopped scanning; what it parses
		// next starts a new request.
		c.text = protocol.TextParser{MaxItemSize: c.text.MaxItemSize}
	}
	if again != need {
		// Cannot happen: the same head parses the same way.
		return false
	}
	c.need = 0
	c.off += headLen
	c.touchLastCmd()
	if c.proto == ProtocolBinary {
		if c.tracing {
			c.traceBinHeader(TraceIn, "Read binary protocol data:", "  ", n.head[:protocol.BinHeaderLen])
		}
		c.reserveBinary(&c.binReq, need-headLen)
	} else {
		if c.tracing {
			c.traceRequestLine(n.head)
		}
		c.reserveText(&c.req, need-headLen)
	}
	return true
}

// reserveText reserves the item of a text or meta storage request whose
// data block (value and "\r\n") is dataLen bytes, or refuses it as
// memcached's process_update_command does when the allocation fails.
func (c *Conn) reserveText(r *protocol.Request, dataLen int) {
	var mode memcache.Mode
	var flags uint32
	var exp int64
	var opt memcache.StoreOptions
	if r.Cmd == protocol.CmdMetaSet {
		mode, flags, exp, opt = metaStoreArgs(r)
	} else {
		mode, flags, exp, opt = textStoreArgs(r)
	}
	rsv, res, err := c.cache.Reserve(mode, r.Key, flags, exp, dataLen-2, opt)
	if err == nil && res == memcache.Stored {
		c.nr.active, c.nr.rsv, c.nr.filled, c.nr.crlf = true, rsv, 0, true
		return
	}
	if err == nil && c.watching(watchMutations) {
		// memcached logs a store refused at allocation too.
		c.watchStore(mode, r.Key, flags, exp, dataLen-2, res)
	}
	c.swallow = dataLen
	msg := protocol.ReplyOutOfMemory
	switch {
	case err != nil:
		msg = protocol.ReplyBadFormat
	case res == memcache.TooLarge:
		msg = protocol.ReplyTooLarge
	}
	if r.Cmd == protocol.CmdMetaSet {
		c.reply(msg) // ms reports errors even when quiet
	} else {
		c.replyUnlessNoreply(r, msg)
	}
}

// reserveBinary is reserveText for a binary storage request.
func (c *Conn) reserveBinary(r *protocol.BinRequest, valueLen int) {
	op, _ := protocol.BinCanonical(r.Header.Opcode)
	mode, flags, exp, opt := binStoreArgs(op, r)
	rsv, res, err := c.cache.Reserve(mode, r.Key, flags, exp, valueLen, opt)
	if err == nil && res == memcache.Stored {
		c.nr.active, c.nr.rsv, c.nr.filled, c.nr.crlf = true, rsv, 0, false
		return
	}
	if err == nil && c.watching(watchMutations) {
		c.watchStore(mode, r.Key, flags, exp, valueLen, res)
	}
	c.swallow = valueLen
	x := binCtx{op: r.Header.Opcode, opaque: r.Header.Opaque}
	switch {
	case err != nil:
		c.binError(x, protocol.StatusInvalidArgs)
	case res == memcache.TooLarge:
		c.binError(x, protocol.StatusTooLarge)
	default:
		c.binOOM(x, "SERVER_ERROR Out of memory allocating item")
	}
}

// fill copies value bytes from p into the reservation and returns how
// many it took.
func (n *nread) fill(p []byte) int {
	k := copy(n.rsv.Value[n.filled:], p)
	n.filled += k
	return k
}

// resumeNread moves buffered input into the value being read and, once
// the value (and a text value's "\r\n") is complete, executes the request
// with the value in place. It reports whether the request completed.
func (c *Conn) resumeNread() bool {
	n := &c.nr
	c.off += n.fill(c.in[c.off:])
	if n.filled < len(n.rsv.Value) {
		return false
	}
	if !n.crlf {
		c.binReq.Value = n.rsv.Value
		c.finishNread(func() { c.execBinary(&c.binReq) })
		return true
	}
	if len(c.in)-c.off < 2 {
		c.need = 2
		return false
	}
	c.need = 0
	c.req.Value = n.rsv.Value
	c.req.ValueOK = c.in[c.off] == '\r' && c.in[c.off+1] == '\n'
	c.off += 2
	c.finishNread(func() { c.execText(&c.req) })
	return true
}

// finishNread runs the request's normal execution, whose store commits the
// reservation (see store); a request that does not store (a bad data
// chunk) leaves it to be released here.
func (c *Conn) finishNread(exec func()) {
	exec()
	c.abortNread()
	c.nr.head = c.nr.head[:0]
}

// abortNread releases a reservation not committed (the request failed, or
// the connection closed part way through the value).
func (c *Conn) abortNread() {
	if c.nr.active {
		c.nr.active = false
		c.cache.Abort(&c.nr.rsv)
	}
}

// store is the one way a request stores a value: it commits the value
// read into its reservation, or stores a buffered value.
func (c *Conn) store(mode memcache.Mode, key []byte, flags uint32, exp int64, value []byte, opt memcache.StoreOptions) (memcache.Result, uint64, error) {
	if c.nr.active {
		c.nr.active = false
		return c.cache.Commit(&c.nr.rsv)
	}
	return c.cache.Store(mode, key, flags, exp, value, opt)
}

func binStorage(op uint8) bool {
	switch op {
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace, protocol.OpAppend, protocol.OpPrepend:
		return true
	}
	return false
}
