package protocol

// Cmd names a text or meta protocol command.
type Cmd uint8

// Text and meta protocol commands. CmdNone marks a request that carries only
// a reply (Request.Err) or a close (Request.Close).
const (
	CmdNone Cmd = iota
	CmdGet
	CmdGets
	CmdGat
	CmdGats
	CmdSet
	CmdAdd
	CmdReplace
	CmdAppend
	CmdPrepend
	CmdCas
	CmdDelete
	CmdIncr
	CmdDecr
	CmdTouch
	CmdStats
	CmdFlushAll
	CmdVersion
	CmdVerbosity
	CmdQuit
	CmdShutdown
	CmdSlabs
	CmdLru
	CmdLruCrawler
	CmdWatch
	CmdCacheMemlimit
	CmdMetaGet
	CmdMetaSet
	CmdMetaDelete
	CmdMetaArithmetic
	CmdMetaNoop
	CmdMetaDebug
)

var cmdNames = [...]string{
	CmdNone: "none", CmdGet: "get", CmdGets: "gets", CmdGat: "gat", CmdGats: "gats",
	CmdSet: "set", CmdAdd: "add", CmdReplace: "replace", CmdAppend: "append",
	CmdPrepend: "prepend", CmdCas: "cas", CmdDelete: "delete", CmdIncr: "incr",
	CmdDecr: "decr", CmdTouch: "touch", CmdStats: "stats", CmdFlushAll: "flush_all",
	CmdVersion: "version", CmdVerbosity: "verbosity", CmdQuit: "quit",
	CmdShutdown: "shutdown", CmdSlabs: "slabs", CmdLru: "lru", CmdLruCrawler: "lru_crawler",
	CmdWatch: "watch", CmdCacheMemlimit: "cache_memlimit", CmdMetaGet: "mg",
	CmdMetaSet: "ms", CmdMetaDelete: "md", CmdMetaArithmetic: "ma", CmdMetaNoop: "mn",
	CmdMetaDebug: "me",
}

// String returns the command as written on the wire.
func (c Cmd) String() string {
	if int(c) < len(cmdNames) {
		return cmdNames[c]
	}
	return "unknown"
}

// IsStorage reports whether the command carries a data block.
func (c Cmd) IsStorage() bool {
	switch c {
	case CmdSet, CmdAdd, CmdReplace, CmdAppend, CmdPrepend, CmdCas, CmdMetaSet:
		return true
	}
	return false
}

// Request is one parsed text or meta protocol request. Byte slices alias the
// parser's input and are valid only until that input is reused.
type Request struct {
	Cmd Cmd
	// Key is the first key (for meta commands, base64-decoded if the b flag
	// was given).
	Key []byte
	// Keys are all keys of a get/gets/gat/gats, in order. If a key is too long
	// Keys stops before it and Err is set: memcached looks up the keys before
	// the bad one, then discards their output.
	Keys [][]byte
	// Flags are the client flags of a storage command.
	Flags uint32
	// Exptime is the raw expiration time argument (storage, touch, gat,
	// flush_all with HasExptime).
	Exptime    int32
	HasExptime bool
	// Cas is the compare-and-swap value of a cas command.
	Cas uint64
	// Delta is the incr/decr amount.
	Delta uint64
	// Noreply is set when the command asked for no reply ("noreply" or the
	// meta q flag); what it suppresses depends on the command.
	Noreply bool
	// Value is the data block of a storage command without its "\r\n".
	// ValueOK is false when the block did not end in "\r\n" (memcached's
	// "CLIENT_ERROR bad data chunk").
	Value   []byte
	ValueOK bool
	// Args are the tokens after the command name, for commands whose
	// arguments the connection interprets (stats, verbosity, slabs, lru,
	// shutdown, ...). At most MaxTokens-2 are kept, as memcached does.
	Args [][]byte
	// NTokens is memcached's token count for the line (tokens plus the
	// terminal slot, at most MaxTokens); some commands branch on it.
	NTokens int
	// Meta holds the flags of a meta command.
	Meta MetaFlags

	// Err, when non-empty, is the reply line (without "\r\n") for a request
	// memcached refuses while parsing. Unless ErrForced it is suppressed by
	// Noreply, as memcached's out_string does.
	Err       string
	ErrForced bool
	// Swallow is how many bytes after the command line memcached discards
	// (the data block of a refused storage command).
	Swallow int
	// Close asks the connection to close without replying (junk or HTTP).
	Close bool

	keyBuf []byte
	toks   tokens
}

// keepTokens is how many token slots a Request keeps between requests; a
// huge multi-get's slices are released afterwards.
const keepTokens = 1024

// reset clears r for reuse, keeping its slices' storage unless a huge
// multi-get grew them.
func (r *Request) reset() {
	keys, args, keyBuf, toks, order := r.Keys[:0], r.Args[:0], r.keyBuf[:0], r.toks, r.Meta.Order[:0]
	if cap(keys) > keepTokens {
		keys = nil
	}
	if cap(toks.all) > keepTokens {
		toks.all = nil
	}
	*r = Request{Keys: keys, Args: args, keyBuf: keyBuf, toks: toks}
	r.Meta.Order = order
}

// Forget drops r's references into the input it was parsed from, so a
// large input buffer can be freed while r is kept for reuse.
func (r *Request) Forget() {
	clear(r.Keys[:cap(r.Keys)])
	clear(r.Args[:cap(r.Args)])
	clear(r.toks.all[:cap(r.toks.all)])
	r.reset()
}
