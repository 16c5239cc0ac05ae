package protocol

import "bytes"

// PeekKeys appends to dst the keys that the retrieval requests at the start
// of p will look up, at most limit keys in all: those of text get, gets,
// gat and gats lines, of meta mg lines, and of binary GET, GETQ, GETK and
// GETKQ requests, in order. It stops at the first request of any other
// kind, at the first one not complete in p, and at a line longer than the
// server would take. Keys longer than KeyMaxLength are left out. It is a
// hint for prefetching (memcache.Cache.Prefetch) before the requests are
// served, not a parser: it validates nothing else, so it may return keys
// that parsing would refuse (or base64 text for an mg key flagged b), and
// it never fails. The keys alias p, with no room to append into it.
func PeekKeys(dst [][]byte, p []byte, limit int) [][]byte {
	for n := 0; len(p) > 0 && n < limit; {
		var keys int
		if p[0] == MagicRequest {
			dst, keys, p = peekBinary(dst, p)
		} else {
			dst, keys, p = peekText(dst, p, limit-n)
		}
		if keys == 0 {
			break
		}
		n += keys
	}
	return dst
}

// peekBinary takes the key of one complete binary get request.
func peekBinary(dst [][]byte, p []byte) ([][]byte, int, []byte) {
	if len(p) < BinHeaderLen {
		return dst, 0, p
	}
	h := DecodeBinHeader(p)
	switch h.Opcode {
	case OpGet, OpGetQ, OpGetK, OpGetKQ:
	default:
		return dst, 0, p
	}
	end := BinHeaderLen + int(h.BodyLen)
	start := BinHeaderLen + int(h.ExtLen)
	stop := start + int(h.KeyLen)
	if end > len(p) || stop > end || h.KeyLen == 0 || h.KeyLen > KeyMaxLength {
		return dst, 0, p
	}
	return append(dst, p[start:stop:stop]), 1, p[end:]
}

// peekText takes the keys of one complete retrieval line, at most limit.
func peekText(dst [][]byte, p []byte, limit int) ([][]byte, int, []byte) {
	cmd, _ := nextToken(p[:min(len(p), MaxLineLength)])
	skip := 0 // tokens before the keys
	switch string(cmd) {
	case "get", "gets":
	case "gat", "gats":
		skip = 1 // the exptime
	case "mg":
		limit = 1 // one key; flags follow it
	default:
		return dst, 0, p
	}
	// Only retrievals may be longer than MaxLineLength (multi-gets).
	eol := bytes.IndexByte(p[:min(len(p), MaxGetLineLength)], '\n')
	if eol < 0 {
		return dst, 0, p
	}
	line, rest := bytes.TrimSuffix(p[:eol], []byte{'\r'}), p[eol+1:]
	_, args := nextToken(line)
	n := 0
	for n < limit {
		var tok []byte
		if tok, args = nextToken(args); tok == nil {
			break
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(tok) <= KeyMaxLength {
			dst = append(dst, tok[:len(tok):len(tok)])
			n++
		}
	}
	return dst, n, rest
}

// nextToken splits the first token off s, tokens being separated by
// spaces (and, within a line, stray CR or LF bytes); nil at the end.
func nextToken(s []byte) (tok, rest []byte) {
	s = bytes.TrimLeft(s, " \r\n")
	if len(s) == 0 {
		return nil, nil
	}
	if i := bytes.IndexAny(s, " \r\n"); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, nil
}
