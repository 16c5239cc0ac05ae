package conn

import (
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// binNoAutovivify is the incr/decr expiration that means "do not create
// the item on a miss".
const binNoAutovivify = 0xffffffff

// binCtx is the request being answered: responses echo its opcode and
// opaque.
type binCtx struct {
	op     uint8
	opaque uint32
}

// binResp is memcached's add_bin_header and what follows it.
func (c *Conn) binResp(x binCtx, status uint16, cas uint64, extras, key, value []byte) {
	start := len(c.out)
	c.out = protocol.AppendBinResponse(c.out, x.op, status, x.opaque, cas, extras, key, value)
	if c.tracing {
		c.traceBinResponse(start)
	}
}

func (c *Conn) traceBinResponse(start int) {
	c.traceBinHeader(TraceOut, "Writing bin response:", " ", c.out[start:start+protocol.BinHeaderLen])
}

// binError is memcached's write_bin_error: errors are sent even for quiet
// commands.
func (c *Conn) binError(x binCtx, status uint16) {
	if c.tracing {
		c.traceString(TraceOut, "Writing an error: ", protocol.StatusText(status))
	}
	start := len(c.out)
	c.out = protocol.AppendBinError(c.out, x.op, status, x.opaque)
	if c.tracing {
		c.traceBinResponse(start)
	}
}

// binOOM is memcached's out_of_memory for the binary protocol: status
// "out of memory" with the ASCII message minus its "SERVER_ERROR " prefix.
func (c *Conn) binOOM(x binCtx, ascii string) {
	msg := strings.TrimPrefix(ascii, "SERVER_ERROR ")
	if c.tracing {
		c.traceString(TraceOut, "Writing an error: ", msg)
	}
	c.binResp(x, protocol.StatusOutOfMemory, 0, nil, nil, []byte(msg))
}

// traceBinKey is the -vv summary memcached prints for some binary
// requests: prefix, the key, suffix.
func (c *Conn) traceBinKey(kind TraceKind, prefix string, key []byte, suffix string) {
	c.traceBuf = append(append(append(c.traceBuf[:0], prefix...), key...), suffix...)
	c.traceLine(kind, c.traceBuf)
}

// binProtocolError answers "Invalid arguments" and closes, as memcached's
// handle_binary_protocol_error.
func (c *Conn) binProtocolError(x binCtx) {
	c.binError(x, protocol.StatusInvalidArgs)
	c.close()
}

// execBinary is memcached's dispatch_bin_command.
func (c *Conn) execBinary(r *protocol.BinRequest) {
	if r.Close {
		c.close()
		return
	}
	h := r.Header
	x := binCtx{op: h.Opcode, opaque: h.Opaque}
	keylen, extlen, bodylen := int(h.KeyLen), int(h.ExtLen), int(h.BodyLen)
	if keylen > bodylen || keylen+extlen > bodylen {
		c.binError(x, protocol.StatusUnknownCommand)
		c.close()
		return
	}
	if keylen > protocol.KeyMaxLength {
		c.binProtocolError(x)
		return
	}
	if r.Swallow > 0 {
		c.swallow = r.Swallow
	}
	op, quiet := protocol.BinCanonical(h.Opcode)
	switch op {
	case protocol.OpVersion:
		if extlen == 0 && keylen == 0 && bodylen == 0 {
			c.binOK(x, quiet, 0, nil, []byte(c.set.Version))
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpFlush:
		if keylen == 0 && bodylen == extlen && (extlen == 0 || extlen == 4) {
			if c.set.FlushDisabled {
				c.binError(x, protocol.StatusAuthError)
				return
			}
			var exp int64
			if extlen == 4 {
				exp = int64(binary.BigEndian.Uint32(r.Extras))
			}
			c.cache.FlushAll(exp)
			c.binOK(x, quiet, 0, nil, nil)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpNoop:
		if extlen == 0 && keylen == 0 && bodylen == 0 {
			c.binOK(x, quiet, 0, nil, nil)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace:
		if extlen == 8 && keylen != 0 && bodylen >= keylen+8 {
			c.binUpdate(x, op, quiet, r)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpGet, protocol.OpGetK:
		if extlen == 0 && bodylen == keylen && keylen > 0 {
			c.binGet(x, op, quiet, r)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpDelete:
		if keylen > 0 && extlen == 0 && bodylen == keylen {
			if c.tracing {
				c.traceBinKey(TracePlain, "Deleting ", r.Key, "")
			}
			del := func() memcache.Result { return c.cache.Delete(r.Key, memcache.DeleteOptions{CAS: h.Cas}) }
			switch c.deleteWatch(r.Key, "delete", del) {
			case memcache.Deleted:
				c.binOK(x, quiet, 0, nil, nil)
			case memcache.Exists:
				c.binError(x, protocol.StatusKeyExists)
			default:
				c.binError(x, protocol.StatusKeyNotFound)
			}
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpIncrement, protocol.OpDecrement:
		if keylen > 0 && extlen == 20 && bodylen == keylen+extlen {
			c.binArith(x, op, quiet, r)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpAppend, protocol.OpPrepend:
		if keylen > 0 && extlen == 0 {
			c.binUpdate(x, op, quiet, r)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpStat:
		if extlen == 0 {
			c.binStats(x, r)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpQuit:
		if keylen == 0 && extlen == 0 && bodylen == 0 {
			c.binOK(x, quiet, 0, nil, nil)
			c.close()
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpSASLList:
		if extlen == 0 && keylen == 0 && bodylen == 0 {
			// No SASL support: memcached without SASL says "Unknown command".
			c.binError(x, protocol.StatusUnknownCommand)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpSASLAuth, protocol.OpSASLStep:
		if extlen == 0 && keylen != 0 {
			c.binError(x, protocol.StatusUnknownCommand)
		} else {
			c.binProtocolError(x)
		}
	case protocol.OpTouch, protocol.OpGAT, protocol.OpGATK:
		if extlen == 4 && keylen != 0 {
			c.binGet(x, op, quiet, r)
		} else {
			c.binProtocolError(x)
		}
	default:
		c.binError(x, protocol.StatusUnknownCommand)
	}
}

// binOK is memcached's write_bin_response: a success, suppressed for quiet
// commands.
func (c *Conn) binOK(x binCtx, quiet bool, cas uint64, extras, value []byte) {
	if quiet {
		return
	}
	c.binResp(x, protocol.StatusOK, cas, extras, nil, value)
}

func (c *Conn) binUpdate(x binCtx, op uint8, quiet bool, r *protocol.BinRequest) {
	if c.tracing {
		c.traceBinUpdate(op, r)
	}
	if r.TooLarge {
		if op == protocol.OpSet {
			// memcached drops the old value of a SET it cannot allocate.
			c.refuseTooLarge(memcache.ModeSet, r.Key, 0, 0, len(r.Value)+r.Swallow)
		}
		c.binError(x, protocol.StatusTooLarge)
		return
	}
	mode, flags, exp, opt := binStoreArgs(op, r)
	res, cas, err := c.store(mode, r.Key, flags, exp, r.Value, opt)
	if err != nil {
		c.binError(x, protocol.StatusInvalidArgs)
		return
	}
	if c.watching(watchMutations) {
		c.watchStore(mode, r.Key, flags, exp, len(r.Value), res)
	}
	switch res {
	case memcache.Stored:
		c.binOK(x, quiet, cas, nil, nil)
	case memcache.Exists:
		c.binError(x, protocol.StatusKeyExists)
	case memcache.NotFound:
		c.binError(x, protocol.StatusKeyNotFound)
	case memcache.TooLarge:
		c.binError(x, protocol.StatusTooLarge)
	case memcache.NoMemory:
		c.binOOM(x, "SERVER_ERROR Out of memory allocating item")
	default:
		switch op {
		case protocol.OpAdd:
			c.binError(x, protocol.StatusKeyExists)
		case protocol.OpReplace:
			c.binError(x, protocol.StatusKeyNotFound)
		default:
			c.binError(x, protocol.StatusNotStored)
		}
	}
}

// binStoreArgs is how a binary set, add, replace, append or prepend
// stores.
func binStoreArgs(op uint8, r *protocol.BinRequest) (memcache.Mode, uint32, int64, memcache.StoreOptions) {
	var flags uint32
	var exp int64
	mode := memcache.ModeAppend
	switch op {
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace:
		flags = binary.BigEndian.Uint32(r.Extras[0:4])
		exp = int64(binary.BigEndian.Uint32(r.Extras[4:8]))
		switch op {
		case protocol.OpSet:
			mode = memcache.ModeSet
		case protocol.OpAdd:
			mode = memcache.ModeAdd
		default:
			mode = memcache.ModeReplace
		}
		if r.Header.Cas != 0 {
			mode = memcache.ModeCAS
		}
	case protocol.OpPrepend:
		mode = memcache.ModePrepend
	}
	return mode, flags, exp, memcache.StoreOptions{CAS: r.Header.Cas}
}

func (c *Conn) binGet(x binCtx, op uint8, quiet bool, r *protocol.BinRequest) {
	touch := op == protocol.OpTouch || op == protocol.OpGAT || op == protocol.OpGATK
	withKey := op == protocol.OpGetK || op == protocol.OpGATK
	if c.tracing {
		if touch {
			c.traceBinKey(TraceIn, "TOUCH ", r.Key, "")
		} else {
			c.traceBinKey(TraceIn, "GET ", r.Key, "")
		}
	}
	var v memcache.View
	var ok bool
	if touch {
		v, ok = c.cache.GetAndTouch(r.Key, int64(binary.BigEndian.Uint32(r.Extras)))
	} else {
		v, ok = c.cache.Get(r.Key)
	}
	if !ok {
		if quiet {
			return
		}
		if withKey {
			c.binResp(x, protocol.StatusKeyNotFound, 0, nil, r.Key, nil)
		} else {
			c.binError(x, protocol.StatusKeyNotFound)
		}
		return
	}
	var extras [4]byte
	binary.BigEndian.PutUint32(extras[:], v.Flags)
	var key []byte
	if withKey {
		key = r.Key
	}
	n := len(v.Value)
	if op == protocol.OpTouch {
		n = 0
	}
	start := len(c.out)
	c.out = protocol.AppendBinResponseHead(c.out, x.op, protocol.StatusOK, x.opaque, v.CAS, extras[:], key, n)
	if n > 0 {
		c.appendValue(&v)
	}
	if c.tracing {
		// memcached dumps the header before it fills in the item's CAS.
		var hdr [protocol.BinHeaderLen]byte
		copy(hdr[:16], c.out[start:])
		c.traceBinHeader(TraceOut, "Writing bin response:", " ", hdr[:])
	}
}

func (c *Conn) binArith(x binCtx, op uint8, quiet bool, r *protocol.BinRequest) {
	delta := binary.BigEndian.Uint64(r.Extras[0:8])
	initial := binary.BigEndian.Uint64(r.Extras[8:16])
	exp := binary.BigEndian.Uint32(r.Extras[16:20])
	if c.tracing {
		// memcached says "incr" for decrements too, and prints the
		// delta and the expiration as signed numbers.
		b := append(append(c.traceBuf[:0], "incr "...), r.Key...)
		b = append(strconv.AppendInt(append(b, ' '), int64(delta), 10), ", "...)
		b = append(strconv.AppendUint(b, initial, 10), ", "...)
		c.traceBuf = strconv.AppendInt(b, int64(int32(exp)), 10)
		c.traceLine(TracePlain, c.traceBuf)
	}
	av, res := c.cache.Arith(r.Key, memcache.ArithOptions{
		Decr:      op == protocol.OpDecrement,
		Delta:     delta,
		CAS:       r.Header.Cas,
		Vivify:    exp != binNoAutovivify,
		VivifyTTL: int64(exp),
		Initial:   initial,
	})
	switch res {
	case memcache.Hit:
		var val [8]byte
		binary.BigEndian.PutUint64(val[:], av.Value)
		c.binOK(x, quiet, av.CAS, nil, val[:])
	case memcache.NonNumeric:
		c.binError(x, protocol.StatusNonNumeric)
	case memcache.NoMemory:
		c.binOOM(x, "SERVER_ERROR Out of memory incrementing value")
	case memcache.Exists:
		c.binError(x, protocol.StatusKeyExists)
	case memcache.NotStored:
		c.binError(x, protocol.StatusNotStored)
	default:
		c.binError(x, protocol.StatusKeyNotFound)
	}
}

// binStats is memcached's process_bin_stat: one response per statistic,
// then an empty one. Like memcached it matches subcommands by prefix.
func (c *Conn) binStats(x binCtx, r *protocol.BinRequest) {
	if c.tracing {
		c.traceBinKey(TraceIn, "STATS ", r.Key, "")
	}
	sub := string(r.Key)
	var list []stat
	switch {
	case sub == "":
		list = c.generalStats()
	case strings.HasPrefix(sub, "reset"):
		c.resetStats()
	case strings.HasPrefix(sub, "settings"):
		list = c.settingsStats()
	case strings.HasPrefix(sub, "detail"):
		rest := sub[len("detail"):]
		switch {
		case strings.HasPrefix(rest, " dump"):
			var dump []byte
			for _, p := range c.cache.DetailDump() {
				dump = append(dump, "PREFIX "+p.Prefix+" get "+u64(p.Gets)+" hit "+u64(p.Hits)+
					" set "+u64(p.Sets)+" del "+u64(p.Deletes)+"\r\n"...)
			}
			dump = append(dump, "END\r\n"...)
			list = []stat{{Name: "detailed", Value: string(dump)}}
		case strings.HasPrefix(rest, " on"):
			c.cache.SetDetail(true)
		case strings.HasPrefix(rest, " off"):
			c.cache.SetDetail(false)
		default:
			c.binError(x, protocol.StatusKeyNotFound)
			return
		}
	default:
		fam := ""
		for _, f := range []string{"items", "slabs", "sizes"} {
			if strings.HasPrefix(sub, f) {
				fam = f
			}
		}
		l, ok := c.engineFamily(fam)
		if !ok {
			c.binError(x, protocol.StatusKeyNotFound)
			return
		}
		list = l
	}
	// Appended directly: memcached's append_bin_stats bypasses
	// add_bin_header and so logs none of these at -vv.
	for _, s := range list {
		c.out = protocol.AppendBinResponse(c.out, x.op, protocol.StatusOK, x.opaque, 0, nil, []byte(s.Name), []byte(s.Value))
	}
	c.out = protocol.AppendBinResponse(c.out, x.op, protocol.StatusOK, x.opaque, 0, nil, nil, nil)
}

// traceBinUpdate is the -vv line of memcached's process_bin_update (set,
// add, replace) or process_bin_append_prepend; the length is the value's as
// the header announces it, also when the value is refused as too large.
func (c *Conn) traceBinUpdate(op uint8, r *protocol.BinRequest) {
	h := r.Header
	vlen := int64(h.BodyLen) - int64(h.KeyLen) - int64(h.ExtLen)
	kind, b := TraceIn, c.traceBuf[:0]
	switch op {
	case protocol.OpSet:
		b = append(append(b, "SET "...), r.Key...)
	case protocol.OpAdd:
		b = append(append(b, "ADD "...), r.Key...)
	case protocol.OpReplace:
		b = append(append(b, "REPLACE "...), r.Key...)
	default:
		kind = TracePlain
	}
	if kind == TraceIn {
		b = append(b, ' ')
	}
	b = append(b, "Value len is "...)
	c.traceBuf = strconv.AppendInt(b, vlen, 10)
	c.traceLine(kind, c.traceBuf)
}
