package conn

import (
	"strconv"

	"github.com/securecached/securecached/protocol"
)

// execSlabs is memcached's process_slabs_command: "slabs reassign SRC DST"
// schedules a page move (the engine answers OK, BUSY, BADCLASS, NOSPARE
// or SAME in memcached's words), "slabs automove 0|1|2" and "slabs
// automove ratio R" retune the automover.
func (c *Conn) execSlabs(r *protocol.Request) {
	switch {
	case r.NTokens == 5 && string(r.Args[0]) == "reassign":
		if !c.cache.Config().SlabReassign {
			c.reply(replyReassignOff)
			return
		}
		src, err1 := strconv.ParseInt(string(r.Args[1]), 10, 32)
		dst, err2 := strconv.ParseInt(string(r.Args[2]), 10, 32)
		if err1 != nil || err2 != nil {
			c.reply(protocol.ReplyBadFormat)
			return
		}
		c.reply(c.cache.SlabsReassign(int(src), int(dst)).String())
	case r.NTokens >= 4 && string(r.Args[0]) == "automove":
		c.execSlabsAutomove(r)
	default:
		c.reply(protocol.ReplyError)
	}
}

// execSlabsAutomove is memcached's process_slabs_automove_command.
func (c *Conn) execSlabsAutomove(r *protocol.Request) {
	setNoreply := string(r.Args[len(r.Args)-1]) == "noreply"
	out := func(s string) {
		if !setNoreply {
			c.reply(s)
		}
	}
	if string(r.Args[1]) == "ratio" {
		if r.NTokens < 5 {
			out(protocol.ReplyError)
			return
		}
		ratio, err := strconv.ParseFloat(string(r.Args[2]), 64)
		if err != nil {
			out(protocol.ReplyError)
			return
		}
		c.cache.SetSlabAutomoveRatio(ratio)
		out(replyOK)
		return
	}
	level, ok := protocol.ParseUint32(r.Args[1])
	switch {
	case !ok:
		out(protocol.ReplyBadFormat)
	case level > 2:
		out(protocol.ReplyError)
	default:
		_ = c.cache.SetSlabAutomove(int(level)) // 0..2 cannot fail
		out(replyOK)
	}
}
