package conn

import (
	"strconv"
	"strings"

	"github.com/securecached/securecached/protocol"
)

// execAdmin answers memcached's administrative commands: slab page moves
// (slabs_admin.go), LRU tuning, the LRU crawler and watch.
func (c *Conn) execAdmin(r *protocol.Request) {
	arg := func(i int) string {
		if i < len(r.Args) {
			return string(r.Args[i])
		}
		return ""
	}
	switch r.Cmd {
	case protocol.CmdSlabs:
		c.execSlabs(r)
	case protocol.CmdLru:
		c.execLru(r, arg)
	case protocol.CmdLruCrawler:
		c.execLruCrawler(r, arg)
	case protocol.CmdWatch:
		c.execWatch(r)
	case protocol.CmdCacheMemlimit:
		limit, ok := protocol.ParseUint32(r.Args[0])
		switch {
		case !ok:
			c.replyUnlessNoreply(r, protocol.ReplyError)
		case limit < 8:
			c.replyUnlessNoreply(r, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m")
		case limit > 1000000000:
			c.replyUnlessNoreply(r, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes")
		case c.cache.SetMemLimit(int64(limit)<<20) != nil:
			c.replyUnlessNoreply(r, "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust")
		default:
			c.replyUnlessNoreply(r, replyOK)
		}
	default:
		c.reply(protocol.ReplyError)
	}
}

func (c *Conn) execLruCrawler(r *protocol.Request, arg func(int) string) {
	switch {
	case r.NTokens == 4 && arg(0) == "crawl":
		// The engine reclaims expired items on every clock tick, so a
		// crawl request only needs a valid class list.
		if validCrawlClasses(arg(1)) {
			c.reply(replyOK)
		} else {
			c.reply("BADCLASS invalid class id")
		}
	case r.NTokens == 4 && arg(0) == "metadump":
		c.execMetaDump(arg(1))
	case r.NTokens == 4 && (arg(0) == "tocrawl" || arg(0) == "sleep"):
		v, ok := protocol.ParseUint32(r.Args[1])
		switch {
		case !ok:
			c.reply(protocol.ReplyBadFormat)
		case arg(0) == "sleep" && v > 1000000:
			c.reply("CLIENT_ERROR sleep must be one second or less")
		default:
			c.reply(replyOK)
		}
	case r.NTokens == 3 && arg(0) == "enable":
		// The crawler always runs, as in memcached when it is already
		// started.
		c.reply("ERROR failed to start lru crawler thread")
	case r.NTokens == 3 && arg(0) == "disable":
		c.reply("ERROR failed to stop lru crawler thread")
	default:
		c.reply(protocol.ReplyError)
	}
}

// execLru is memcached's process_lru_command: "lru tune", "lru mode",
// "lru temp_ttl", each applied to the engine at once.
func (c *Conn) execLru(r *protocol.Request, arg func(int) string) {
	switch {
	case arg(0) == "tune" && r.NTokens >= 7:
		hot, ok1 := protocol.ParseUint32(r.Args[1])
		warm, ok2 := protocol.ParseUint32(r.Args[2])
		hotF, err1 := strconv.ParseFloat(arg(3), 64)
		warmF, err2 := strconv.ParseFloat(arg(4), 64)
		switch {
		case !ok1 || !ok2 || err1 != nil || err2 != nil:
			c.replyUnlessNoreply(r, protocol.ReplyError)
		case uint64(hot)+uint64(warm) > 80:
			c.replyUnlessNoreply(r, "ERROR hot and warm pcts must not exceed 80")
		case hotF <= 0 || warmF <= 0:
			c.replyUnlessNoreply(r, "ERROR hot/warm age factors must be greater than 0")
		case c.cache.SetLRUTuning(int(hot), int(warm), hotF, warmF) != nil:
			c.replyUnlessNoreply(r, protocol.ReplyError) // checked above; cannot happen
		default:
			c.replyUnlessNoreply(r, replyOK)
		}
	case arg(0) == "mode" && r.NTokens >= 4:
		switch arg(1) {
		case "flat":
			c.cache.SetFlatLRU(true)
			c.replyUnlessNoreply(r, replyOK)
		case "segmented":
			c.cache.SetFlatLRU(false)
			c.replyUnlessNoreply(r, replyOK)
		default:
			c.replyUnlessNoreply(r, protocol.ReplyError)
		}
	case arg(0) == "temp_ttl" && r.NTokens >= 4:
		ttl, ok := protocol.ParseInt32(r.Args[1])
		if !ok {
			c.replyUnlessNoreply(r, protocol.ReplyError)
			return
		}
		c.cache.SetTempTTL(int64(ttl))
		c.replyUnlessNoreply(r, replyOK)
	default:
		c.replyUnlessNoreply(r, protocol.ReplyError)
	}
}

// validCrawlClasses accepts memcached's crawl argument: "all" or a comma
// separated list of slab class ids.
func validCrawlClasses(s string) bool {
	if s == "all" {
		return true
	}
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.Atoi(f)
		if err != nil || id < 1 || id >= maxSlabClassID {
			return false
		}
	}
	return true
}
