package conn

import (
	"encoding/base64"
	"strconv"

	"github.com/securecached/securecached/protocol"
)

// execMetaDebug answers "me <key> [b]" like memcached 1.6.18:
//
//	ME <key> exp=<e> la=<secs> cas=<cas> fetch=<yes|no> cls=<class> size=<bytes>
//
// or EN. Memcached prints exp as (now - expiry), i.e. the remaining TTL
// negated, and -1 for items that never expire. It re-encodes the key in
// base64 when the item was stored with a binary key; we do so when the
// request used b, as the engine keeps no such mark.
func (c *Conn) execMetaDebug(r *protocol.Request) {
	c.shared.CmdMeta.Add(1)
	d, ok := c.cache.Debug(r.Key)
	if !ok {
		c.reply("EN")
		return
	}
	c.out = append(c.out, "ME "...)
	if r.Meta.Base64Key {
		c.out = base64.StdEncoding.AppendEncode(c.out, r.Key)
	} else {
		c.out = append(c.out, r.Key...)
	}
	exp := int64(-1)
	if d.Exp != -1 {
		exp = -d.Exp
	}
	c.out = append(c.out, " exp="...)
	c.out = strconv.AppendInt(c.out, exp, 10)
	c.out = append(c.out, " la="...)
	c.out = strconv.AppendInt(c.out, d.LastAccess, 10)
	c.out = append(c.out, " cas="...)
	c.out = strconv.AppendUint(c.out, d.CAS, 10)
	if d.Fetched {
		c.out = append(c.out, " fetch=yes"...)
	} else {
		c.out = append(c.out, " fetch=no"...)
	}
	c.out = append(c.out, " cls="...)
	c.out = strconv.AppendInt(c.out, int64(d.Class), 10)
	c.out = append(c.out, " size="...)
	c.out = strconv.AppendInt(c.out, int64(d.Size), 10)
	c.out = append(c.out, '\r', '\n')
}
