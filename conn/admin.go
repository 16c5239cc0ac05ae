package conn

import (
	"strconv"
	"strings"

	"github.com/securecached/securecached/protocol"
)

// execAdmin answers memcached's administrative commands. Slab pages move
// (slabs_admin.go); the LRU tuning is fixed, so commands that would change
// it give the answer memcached gives when the feature is unavailable.
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
		// LRU tuning is fixed at startup; memcached answers ERROR to
		// what it cannot apply.
		c.replyUnlessNoreply(r, protocol.ReplyError)
	case protocol.CmdLruCrawler:
		c.execLruCrawler(r, arg)
	case protocol.CmdWatch:
		c.replyUnlessNoreply(r, replyWatchOff)
	case protocol.CmdCacheMemlimit:
		limit, ok := protocol.ParseUint32(r.Args[0])
		switch {
		case !ok:
			c.replyUnlessNoreply(r, protocol.ReplyError)
		case limit < 8:
			c.replyUnlessNoreply(r, "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m")
		case limit > 1000000000:
			c.replyUnlessNoreply(r, "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes")
		default:
			c.replyUnlessNoreply(r, "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust")
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
		// The engine offers no item walk to dump from.
		c.reply("ERROR metadump not allowed")
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
