package protocol

import "bytes"

// PeekKeys appends to dst the keys that the retrieval requests at the start
// of p will look up, at most limit keys in all: those of text get, gets,
// gat and gats lines, of meta mg lines, and of binary GET, GETQ, GETK and
// GETKQ requests, in order. Lines are split into tokens as the parser
// splits them. It stops at the first request of any other kind, at one
// that yields no key, at the first one not complete in p, and at a line
// longer than the server would take. Keys longer than KeyMaxLength are left
// out. It is a hint for prefetching (memcache.Cache.Prefetch) before the
// requests are served, not a parser: it validates nothing else, so it may
// return keys that parsing would refuse (or base64 text for an mg key
// flagged b), and it never fails. The keys alias p, with no room to append
// into it.
func PeekKeys(dst [][]byte, p []byte, limit int) [][]byte {
	end := len(dst) + max(limit, 0)
	for len(p) > 0 && len(dst) < end {
		before := len(dst)
		if p[0] == MagicRequest {
			dst, p = peekBinary(dst, p)
		} else {
			dst, p = peekText(dst, p, end)
		}
		if len(dst) == before {
			break
		}
	}
	return dst
}

// peekBinary appends the key of one complete binary get request and returns
// what follows it; anything else appends nothing.
func peekBinary(dst [][]byte, p []byte) ([][]byte, []byte) {
	if len(p) < BinHeaderLen {
		return dst, p
	}
	h := DecodeBinHeader(p)
	switch h.Opcode {
	case OpGet, OpGetQ, OpGetK, OpGetKQ:
	default:
		return dst, p
	}
	end := BinHeaderLen + int(h.BodyLen)
	start := BinHeaderLen + int(h.ExtLen)
	stop := start + int(h.KeyLen)
	if end > len(p) || stop > end || h.KeyLen == 0 || h.KeyLen > KeyMaxLength {
		return dst, p
	}
	return append(dst, p[start:stop:stop]), p[end:]
}

// peekText appends the keys of one complete retrieval line until dst holds
// end keys, and returns what follows the line; anything else appends
// nothing. Only a retrieval line may be longer than MaxLineLength, and no
// line longer than MaxGetLineLength, so searching that far for its end is
// enough.
func peekText(dst [][]byte, p []byte, end int) ([][]byte, []byte) {
	nl := bytes.IndexByte(p[:min(len(p), MaxGetLineLength)], '\n')
	if nl < 0 {
		return dst, p
	}
	line, rest := bytes.TrimSuffix(p[:nl], []byte{'\r'}), p[nl+1:]
	cmd, args := nextToken(cString(line))
	skip := 0 // tokens before the keys
	switch string(cmd) {
	case "get", "gets":
	case "gat", "gats":
		skip = 1 // the exptime
	case "mg":
		end = min(end, len(dst)+1) // one key; flags follow it
	default:
		return dst, p
	}
	for tok, more := nextToken(args); tok != nil && len(dst) < end; tok, more = nextToken(more) {
		switch {
		case skip > 0:
			skip--
		case len(tok) <= KeyMaxLength:
			dst = append(dst, tok[:len(tok):len(tok)])
		}
	}
	return dst, rest
}
