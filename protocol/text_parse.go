package protocol

import "bytes"

// Text protocol replies produced while parsing, as memcached words them.
const (
	ReplyError            = "ERROR"
	ReplyBadFormat        = "CLIENT_ERROR bad command line format"
	ReplyBadDataChunk     = "CLIENT_ERROR bad data chunk"
	ReplyTooLarge         = "SERVER_ERROR object too large for cache"
	ReplyOutOfMemory      = "SERVER_ERROR out of memory storing object"
	ReplyInvalidExptime   = "CLIENT_ERROR invalid exptime argument"
	ReplyInvalidDelta     = "CLIENT_ERROR invalid numeric delta argument"
	ReplyNonNumeric       = "CLIENT_ERROR cannot increment or decrement non-numeric value"
	ReplyDeleteUsage      = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
	replyMetaFlagsTooLong = "CLIENT_ERROR options flags too long"
	replyMgFlagsTooLong   = "CLIENT_ERROR options flags are too long"
	replyMsInvalidMode    = "CLIENT_ERROR invalid mode for ms M token"
)

// TextParser parses text and meta protocol requests incrementally.
//
// Call Parse with the unconsumed input, always starting at the start of the
// next request, until it reports a complete request; then drop the bytes it
// used. Feeding the same bytes split at any boundary yields the same
// requests.
type TextParser struct {
	// MaxItemSize is memcached's -I. A storage command declaring a larger
	// data block is refused with ReplyTooLarge and its data swallowed
	// (Request.Swallow) instead of buffered. Zero means DefaultMaxItemSize.
	MaxItemSize int

	// scanned is how many bytes of the pending line were already searched
	// for '\n', so a long multi-get line is not rescanned on every read.
	scanned int
}

// Parse parses the request at the start of buf into req.
//
// When a request is complete it returns n > 0, the number of bytes of buf
// the request used (its data block included, but not Request.Swallow). When
// buf holds only part of a request it returns n == 0 and need, the length buf
// must reach before Parse can make progress, so a caller reading a large
// value need not call Parse again for every read.
func (p *TextParser) Parse(buf []byte, req *Request) (n, need int) {
	req.reset()
	from := p.scanned
	if from > len(buf) {
		from = 0
	}
	nl := -1
	if i := bytes.IndexByte(buf[from:], '\n'); i >= 0 {
		nl = from + i
	}
	if nl < 0 || nl > MaxLineLength {
		// No newline within what memcached buffers for a line: only a
		// multi-get may go on, and only up to MaxGetLineLength. Deciding on
		// the line's length rather than on what one read returned keeps
		// the outcome independent of how the input was split.
		if len(buf) > MaxLineLength && !isMultiGet(buf) ||
			nl >= MaxGetLineLength || nl < 0 && len(buf) >= MaxGetLineLength {
			p.scanned = 0
			req.Close = true
			return len(buf), 0
		}
		if nl < 0 {
			p.scanned = len(buf)
			return 0, len(buf) + 1
		}
	}
	lineEnd := nl + 1
	line := buf[:nl]
	if nl > 1 && buf[nl-1] == '\r' {
		line = buf[:nl-1]
	}
	dataLen := parseLine(line, req, p.maxItemSize())
	if dataLen > 0 {
		total := lineEnd + dataLen
		if len(buf) < total {
			// Keep scanned at the newline so the line is found at once.
			p.scanned = nl
			return 0, total
		}
		block := buf[lineEnd:total]
		req.Value = block[:dataLen-2]
		req.ValueOK = block[dataLen-2] == '\r' && block[dataLen-1] == '\n'
		p.scanned = 0
		return total, 0
	}
	p.scanned = 0
	return lineEnd, 0
}

func (p *TextParser) maxItemSize() int {
	if p.MaxItemSize > 0 {
		return p.MaxItemSize
	}
	return DefaultMaxItemSize
}

// isMultiGet is memcached's test for a line allowed past MaxLineLength: at
// most 100 leading spaces, then "get " or "gets ". We let "gat " and
// "gats " through too: they name as many keys as a get, and memcached
// serves such a line when it arrives in one read, but closes the
// connection when its first read ends before the newline; deciding on the
// command keeps the outcome independent of how the input was split.
func isMultiGet(buf []byte) bool {
	i := 0
	for i < len(buf) && buf[i] == ' ' {
		i++
	}
	if i > 100 {
		return false
	}
	rest := buf[i:]
	return bytes.HasPrefix(rest, []byte("get ")) || bytes.HasPrefix(rest, []byte("gets ")) ||
		bytes.HasPrefix(rest, []byte("gat ")) || bytes.HasPrefix(rest, []byte("gats "))
}

// parseLine decodes one command line into req, following memcached's
// process_command_ascii. It returns the length of the data block (with its
// "\r\n") the request still needs to read, or 0.
func parseLine(line []byte, req *Request, maxItem int) int {
	t := &req.toks
	t.split(line)
	nt := t.ntokens()
	req.NTokens = nt
	if nt < 2 || len(t.at(0)) < 2 {
		req.Err = ReplyError
		return 0
	}
	cmd := t.at(0)
	for i := 1; i < nt-1; i++ {
		req.Args = append(req.Args, t.at(i))
	}
	want := func(ok bool) bool {
		if !ok {
			req.Err = ReplyError
		}
		return ok
	}
	if cmd[0] == 'm' && len(cmd) == 2 {
		switch cmd[1] {
		case 'g':
			req.Cmd = CmdMetaGet
			parseMetaGet(req, nt)
		case 's':
			req.Cmd = CmdMetaSet
			return parseMetaSet(req, nt, maxItem)
		case 'd':
			req.Cmd = CmdMetaDelete
			parseMetaDeleteArith(req, nt)
		case 'a':
			req.Cmd = CmdMetaArithmetic
			parseMetaDeleteArith(req, nt)
		case 'n':
			req.Cmd = CmdMetaNoop
		case 'e':
			req.Cmd = CmdMetaDebug
			parseMetaDebug(req, nt)
		default:
			req.Err = ReplyError
		}
		return 0
	}
	name := string(cmd)
	switch name {
	case "get", "bget":
		if want(nt >= 3) {
			req.Cmd = CmdGet
			parseGet(req, 1)
		}
	case "gets":
		if want(nt >= 3) {
			req.Cmd = CmdGets
			parseGet(req, 1)
		}
	case "gat", "gats":
		if want(nt >= 3) {
			req.Cmd = CmdGat
			if name == "gats" {
				req.Cmd = CmdGats
			}
			if setExptime(req, t.at(1)) {
				parseGet(req, 2)
			}
		}
	case "set", "add", "replace", "append", "prepend":
		if want(nt == 6 || nt == 7) {
			req.Cmd = storageCmd(name)
			return parseUpdate(req, nt, maxItem, false)
		}
	case "cas":
		if want(nt == 7 || nt == 8) {
			req.Cmd = CmdCas
			return parseUpdate(req, nt, maxItem, true)
		}
	case "incr", "decr":
		if want(nt == 4 || nt == 5) {
			req.Cmd = CmdIncr
			if name == "decr" {
				req.Cmd = CmdDecr
			}
			if arg, ok := keyAndArg(req, nt); ok {
				if d, ok := ParseUint64(arg); ok {
					req.Delta = d
				} else {
					req.Err = ReplyInvalidDelta
				}
			}
		}
	case "touch":
		if want(nt == 4 || nt == 5) {
			req.Cmd = CmdTouch
			if arg, ok := keyAndArg(req, nt); ok {
				setExptime(req, arg)
			}
		}
	case "delete":
		if want(nt >= 3 && nt <= 5) {
			req.Cmd = CmdDelete
			if nt > 3 {
				holdZero := string(t.at(2)) == "0"
				noreply := setNoreply(req, nt)
				if !((nt == 4 && (holdZero || noreply)) || (nt == 5 && holdZero && noreply)) {
					req.Err = ReplyDeleteUsage
					return 0
				}
			}
			keyFits(req, t.at(1))
		}
	case "flush_all":
		if want(nt >= 2 && nt <= 4) {
			req.Cmd = CmdFlushAll
			setNoreply(req, nt)
			bare := 2 // "flush_all" alone, or 3 with "noreply"
			if req.Noreply {
				bare = 3
			}
			if nt != bare {
				// The connection checks whether flush_all is enabled before
				// it looks at the argument, so a bad one is not an Err here.
				exp, ok := ParseInt32(t.at(1))
				req.Exptime, req.HasExptime = exp, ok
				if !ok {
					req.Args = req.Args[:0]
				}
			}
		}
	case "version":
		req.Cmd = CmdVersion
	case "quit":
		req.Cmd = CmdQuit
	case "verbosity":
		if want(nt == 3 || nt == 4) {
			req.Cmd = CmdVerbosity
			setNoreply(req, nt)
		}
	case "stats":
		req.Cmd = CmdStats
	case "shutdown":
		req.Cmd = CmdShutdown
	case "slabs":
		req.Cmd = CmdSlabs
	case "lru":
		if want(nt >= 3) {
			req.Cmd = CmdLru
			setNoreply(req, nt)
		}
	case "lru_crawler":
		req.Cmd = CmdLruCrawler
	case "watch":
		req.Cmd = CmdWatch
		setNoreply(req, nt)
	case "cache_memlimit":
		if want(nt == 3 || nt == 4) {
			req.Cmd = CmdCacheMemlimit
			setNoreply(req, nt)
		}
	default:
		if bytes.HasPrefix(t.at(nt-2), []byte("HTTP/")) {
			req.Close = true
			return 0
		}
		req.Err = ReplyError
	}
	return 0
}

// setNoreply is memcached's set_noreply_maybe: the last token is "noreply".
func setNoreply(req *Request, nt int) bool {
	if string(req.toks.at(nt-2)) == "noreply" {
		req.Noreply = true
	}
	return req.Noreply
}

// keyAndArg reads the "<cmd> <key> <arg> [noreply]" shape incr, decr and
// touch share: it sets Noreply and Key and returns arg, or false with
// req.Err set when the key is too long.
func keyAndArg(req *Request, nt int) ([]byte, bool) {
	setNoreply(req, nt)
	if !keyFits(req, req.toks.at(1)) {
		return nil, false
	}
	return req.toks.at(2), true
}

// setExptime sets req's exptime from tok, or req.Err when tok is not a
// 32-bit number.
func setExptime(req *Request, tok []byte) bool {
	exp, ok := ParseInt32(tok)
	if !ok {
		req.Err = ReplyInvalidExptime
		return false
	}
	req.Exptime, req.HasExptime = exp, true
	return true
}

// keyFits sets req.Key, or req.Err when the key is too long.
func keyFits(req *Request, key []byte) bool {
	if len(key) > KeyMaxLength {
		req.Err = ReplyBadFormat
		return false
	}
	req.Key = key
	return true
}

// parseGet collects the keys of a get-family command from token index first
// on. Memcached keeps tokenizing past MaxTokens for these, so all tokens count.
func parseGet(req *Request, first int) {
	all := req.toks.all
	for i := first; i < len(all); i++ {
		if len(all[i]) > KeyMaxLength {
			req.Err = ReplyBadFormat
			break
		}
		req.Keys = append(req.Keys, all[i])
	}
	if len(req.Keys) > 0 {
		req.Key = req.Keys[0]
	}
}

// parseUpdate is memcached's process_update_command up to the allocation.
func parseUpdate(req *Request, nt, maxItem int, withCas bool) int {
	t := &req.toks
	setNoreply(req, nt)
	if !keyFits(req, t.at(1)) {
		return 0
	}
	flags, ok1 := ParseUint32(t.at(2))
	exp, ok2 := ParseInt32(t.at(3))
	vlen, ok3 := ParseInt32(t.at(4))
	if !ok1 || !ok2 || !ok3 {
		req.Err = ReplyBadFormat
		return 0
	}
	req.Flags, req.Exptime, req.HasExptime = flags, exp, true
	if withCas {
		cas, ok := ParseUint64(t.at(5))
		if !ok {
			req.Err = ReplyBadFormat
			return 0
		}
		req.Cas = cas
	}
	if vlen < 0 || vlen > 1<<31-1-2 {
		req.Err = ReplyBadFormat
		return 0
	}
	n := int(vlen) + 2
	if n > maxItem {
		req.Err = ReplyTooLarge
		req.Swallow = n
		return 0
	}
	return n
}

func parseMetaGet(req *Request, nt int) {
	if !metaHead(req, nt, replyMgFlagsTooLong) {
		req.ErrForced = req.Err != ReplyError
		return
	}
	if errstr := metaKeyAndFlags(req, 2, nt); errstr != "" {
		req.Err, req.ErrForced = errstr, true
		return
	}
	req.Noreply = req.Meta.Quiet
}

// metaHead checks what mg, ms, md and ma need before their flags: a key
// (without one memcached answers ERROR), of legal length, and no more
// tokens than memcached splits (tooMany is the command's error for that).
func metaHead(req *Request, nt int, tooMany string) bool {
	switch {
	case nt < 3:
		req.Err = ReplyError
	case len(req.toks.at(1)) > KeyMaxLength:
		req.Err = ReplyBadFormat
	case nt > metaMaxTokens:
		req.Err = tooMany
	default:
		return true
	}
	return false
}

// metaKeyAndFlags decodes the key and the flag tokens from first on (mg
// and ms), refusing an opaque token longer than memcached's. It returns
// memcached's error text, or "".
func metaKeyAndFlags(req *Request, first, nt int) string {
	t := &req.toks
	var errstr string
	req.Key, req.keyBuf, errstr = parseMetaFlags(&req.Meta, t.at(1), t.all[first:nt-1], req.keyBuf)
	if errstr == "" && len(req.Meta.Opaque) > metaMaxOpaqueLength {
		errstr = errMetaOpaqueTooLong
	}
	return errstr
}

func parseMetaSet(req *Request, nt, maxItem int) int {
	t := &req.toks
	if !metaHead(req, nt, replyMetaFlagsTooLong) {
		req.ErrForced = req.Err != ReplyError
		return 0
	}
	req.ErrForced = true
	if nt == 3 { // no value length
		req.Err = ReplyBadFormat
		return 0
	}
	vlen, ok := ParseInt32(t.at(2))
	if !ok || vlen < 0 || vlen > 1<<31-1-2 {
		req.Err = ReplyBadFormat
		return 0
	}
	n := int(vlen) + 2
	errstr := metaKeyAndFlags(req, 3, nt)
	if errstr == "" {
		switch req.Meta.Mode {
		case 0, 'E', 'A', 'P', 'R', 'S':
		default:
			errstr = replyMsInvalidMode
		}
	}
	if errstr == "" && n > maxItem {
		errstr = ReplyTooLarge
	}
	if errstr != "" {
		req.Err = errstr
		req.Swallow = n
		return 0
	}
	req.ErrForced = false
	req.Noreply = req.Meta.Quiet
	req.Flags = req.Meta.ClientFlags
	req.Exptime, req.HasExptime = req.Meta.TTL, true
	return n
}

// parseMetaDeleteArith parses md and ma, which share their error handling.
func parseMetaDeleteArith(req *Request, nt int) {
	t := &req.toks
	if !metaHead(req, nt, replyMetaFlagsTooLong) {
		return
	}
	var errstr string
	req.Key, req.keyBuf, errstr = parseMetaFlags(&req.Meta, t.at(1), t.all[2:nt-1], req.keyBuf)
	if errstr != "" {
		req.Err, req.ErrForced = errMetaInvalidOrDup, true
		return
	}
	req.Noreply = req.Meta.Quiet
	if len(req.Meta.Opaque) > metaMaxOpaqueLength {
		req.Err, req.ErrForced = errMetaOpaqueTooLong, true
		return
	}
	if req.Cmd == CmdMetaArithmetic {
		switch req.Meta.Mode {
		case 0, 'I', '+', 'D', '-':
		default:
			req.Err, req.ErrForced = "CLIENT_ERROR invalid mode for ma M token", true
		}
	}
}

func parseMetaDebug(req *Request, nt int) {
	t := &req.toks
	if nt < 3 || len(t.at(1)) > KeyMaxLength {
		req.Err = ReplyBadFormat
		return
	}
	req.Key = t.at(1)
	if nt >= 4 && string(t.at(2)) == "b" {
		n := base64DecodeInto(&req.keyBuf, req.Key)
		if n <= 0 {
			req.Err = ReplyBadFormat
			return
		}
		req.Key = req.keyBuf[:n]
		req.Meta.Base64Key = true
	}
}

func storageCmd(name string) Cmd {
	switch name {
	case "set":
		return CmdSet
	case "add":
		return CmdAdd
	case "replace":
		return CmdReplace
	case "append":
		return CmdAppend
	}
	return CmdPrepend
}
