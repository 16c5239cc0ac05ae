package protocol

// BinRequest is one binary protocol request. Extras, Key and Value alias
// the parser's input.
type BinRequest struct {
	Header BinHeader
	Extras []byte
	Key    []byte
	// Value is the data of SET/ADD/REPLACE/APPEND/PREPEND (and their quiet
	// forms) when the request's shape is valid.
	Value []byte
	// Swallow is how many bytes after the request memcached discards: a
	// value over the item size limit, the body of an unknown command, or of
	// a SASL request on a server without SASL.
	Swallow int
	// TooLarge marks a storage request whose value was swallowed because it
	// exceeds the item size limit.
	TooLarge bool
	// Close asks the connection to close without replying (bad magic).
	Close bool
}

// BinParser parses binary protocol requests incrementally, with the same
// contract as TextParser.Parse.
type BinParser struct {
	// MaxItemSize is memcached's -I; larger values are swallowed, not
	// buffered. Zero means DefaultMaxItemSize.
	MaxItemSize int
}

// BinCanonical maps a quiet opcode to its loud form and reports whether it
// was quiet, as memcached's dispatch does.
func BinCanonical(op uint8) (uint8, bool) {
	switch op {
	case OpSetQ:
		return OpSet, true
	case OpAddQ:
		return OpAdd, true
	case OpReplaceQ:
		return OpReplace, true
	case OpDeleteQ:
		return OpDelete, true
	case OpIncrementQ:
		return OpIncrement, true
	case OpDecrementQ:
		return OpDecrement, true
	case OpQuitQ:
		return OpQuit, true
	case OpFlushQ:
		return OpFlush, true
	case OpAppendQ:
		return OpAppend, true
	case OpPrependQ:
		return OpPrepend, true
	case OpGetQ:
		return OpGet, true
	case OpGetKQ:
		return OpGetK, true
	case OpGATQ:
		return OpGAT, true
	case OpGATKQ:
		return OpGATK, true
	}
	return op, false
}

// binKnown reports whether memcached's dispatch handles the (canonical)
// opcode.
func binKnown(op uint8) bool {
	switch op {
	case OpVersion, OpFlush, OpNoop, OpSet, OpAdd, OpReplace, OpGet, OpGetK,
		OpDelete, OpIncrement, OpDecrement, OpAppend, OpPrepend, OpStat, OpQuit,
		OpSASLList, OpSASLAuth, OpSASLStep, OpTouch, OpGAT, OpGATK:
		return true
	}
	return false
}

// Parse parses the request at the start of buf into req. It returns n > 0
// when a request is complete, else n == 0 and the buffer length needed.
func (p *BinParser) Parse(buf []byte, req *BinRequest) (n, need int) {
	*req = BinRequest{}
	if len(buf) < BinHeaderLen {
		return 0, BinHeaderLen
	}
	h := DecodeBinHeader(buf)
	if h.Magic != MagicRequest {
		req.Header = h
		req.Close = true
		return len(buf), 0
	}
	head := BinHeaderLen + int(h.ExtLen) + int(h.KeyLen)
	if len(buf) < head {
		return 0, head
	}
	req.Header = h
	req.Extras = buf[BinHeaderLen : BinHeaderLen+int(h.ExtLen)]
	req.Key = buf[BinHeaderLen+int(h.ExtLen) : head]

	keylen, extlen, bodylen := int(h.KeyLen), int(h.ExtLen), int(h.BodyLen)
	if keylen+extlen > bodylen || keylen > KeyMaxLength {
		// The connection answers with an error and closes.
		return head, 0
	}
	vlen := 0
	op, _ := BinCanonical(h.Opcode)
	switch op {
	case OpSet, OpAdd, OpReplace:
		if extlen == 8 && keylen != 0 {
			vlen = bodylen - keylen - extlen
		}
	case OpAppend, OpPrepend:
		if keylen > 0 && extlen == 0 {
			vlen = bodylen - keylen
		}
	case OpSASLAuth, OpSASLStep:
		if extlen == 0 && keylen != 0 {
			req.Swallow = bodylen - keylen
		}
		return head, 0
	case OpSASLList:
		return head, 0
	default:
		if !binKnown(op) {
			// Memcached swallows the whole body length although it already
			// consumed the extras and key; we do the same.
			req.Swallow = bodylen
		}
		return head, 0
	}
	maxItem := p.MaxItemSize
	if maxItem <= 0 {
		maxItem = DefaultMaxItemSize
	}
	if vlen+2 > maxItem {
		req.Swallow = vlen
		req.TooLarge = true
		return head, 0
	}
	total := head + vlen
	if len(buf) < total {
		return 0, total
	}
	req.Value = buf[head:total]
	return total, 0
}
