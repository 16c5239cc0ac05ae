package conn

import (
	"strconv"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// metaStatus appends a meta status line: code, the flags allowed for it, "\r\n".
func (c *Conn) metaStatus(code string, m *protocol.MetaFlags, it *protocol.MetaItem, allowed string) {
	c.out = append(c.out, code...)
	c.out = protocol.AppendMetaFlags(c.out, m, it, allowed)
	c.out = append(c.out, '\r', '\n')
}

// metaQuietable writes a status the q flag (r.Noreply) suppresses: a
// quiet command answers only when something went wrong.
func (c *Conn) metaQuietable(r *protocol.Request, code string, it *protocol.MetaItem, allowed string) {
	if !r.Noreply {
		c.metaStatus(code, &r.Meta, it, allowed)
	}
}

func (c *Conn) execMetaGet(r *protocol.Request) {
	m := &r.Meta
	v, ok := c.cache.MetaGet(r.Key, memcache.MetaGetOptions{
		NoBump:     m.NoBump,
		Vivify:     m.Vivify,
		VivifyTTL:  int64(m.VivifyTTL),
		Recache:    m.HasRecache,
		RecacheTTL: int64(m.RecacheTTL),
		Touch:      m.HasTTL,
		TTL:        int64(m.TTL),
	})
	if !ok {
		c.metaQuietable(r, "EN", &protocol.MetaItem{Key: r.Key}, "Ok")
		return
	}
	it := protocol.MetaItem{
		Key: r.Key, Size: len(v.Value), TTL: v.TTL, Cas: v.CAS, Flags: v.Flags,
		LastAccess: v.LastAccess, Fetched: v.HitBefore,
		TokenSent: v.TokenSent, Stale: v.Stale, Won: v.Won,
	}
	if m.Value {
		c.out = append(c.out, "VA "...)
		c.out = strconv.AppendInt(c.out, int64(len(v.Value)), 10)
	} else {
		c.out = append(c.out, "HD"...)
	}
	c.out = protocol.AppendMetaFlags(c.out, m, &it, "stcflhOk")
	c.out = protocol.AppendMetaWinFlags(c.out, &it)
	c.out = append(c.out, '\r', '\n')
	if m.Value {
		c.appendValue(&v)
		c.out = append(c.out, '\r', '\n')
	}
}

func metaSetMode(m *protocol.MetaFlags) memcache.Mode {
	switch m.Mode {
	case 'E':
		return memcache.ModeAdd
	case 'A':
		return memcache.ModeAppend
	case 'P':
		return memcache.ModePrepend
	case 'R':
		if m.HasCas {
			return memcache.ModeCAS
		}
		return memcache.ModeReplace
	}
	if m.HasCas {
		return memcache.ModeCAS
	}
	return memcache.ModeSet
}

func (c *Conn) execMetaSet(r *protocol.Request) {
	m := &r.Meta
	if !r.ValueOK {
		// ms always reports errors, quiet or not.
		c.reply(protocol.ReplyBadDataChunk)
		return
	}
	mode, flags, exp, opt := metaStoreArgs(r)
	res, cas, err := c.store(mode, r.Key, flags, exp, r.Value, opt)
	if err != nil {
		c.reply(protocol.ReplyBadFormat)
		return
	}
	if c.watching(watchMutations) {
		c.watchStore(metaSetMode(m), r.Key, m.ClientFlags, int64(m.TTL), len(r.Value), res)
	}
	it := protocol.MetaItem{Key: r.Key, Cas: cas}
	switch res {
	case memcache.Stored:
		c.metaQuietable(r, "HD", &it, "Okc")
	case memcache.Exists:
		c.metaStatus("EX", m, &it, "Okc")
	case memcache.NotFound:
		c.metaStatus("NF", m, &it, "Okc")
	case memcache.TooLarge:
		c.reply(protocol.ReplyTooLarge)
	case memcache.NoMemory:
		c.reply(protocol.ReplyOutOfMemory)
	default:
		c.metaStatus("NS", m, &it, "Okc")
	}
}

// metaStoreArgs is how an ms request stores.
func metaStoreArgs(r *protocol.Request) (memcache.Mode, uint32, int64, memcache.StoreOptions) {
	m := &r.Meta
	return metaSetMode(m), m.ClientFlags, int64(m.TTL), memcache.StoreOptions{
		CAS:        m.Cas,
		Invalidate: m.SetStale,
		NewCAS:     m.NewCas,
		Vivify:     m.Vivify,
		VivifyTTL:  int64(m.VivifyTTL),
	}
}

func (c *Conn) execMetaDelete(r *protocol.Request) {
	m := &r.Meta
	res := c.deleteWatch(r.Key, "md", func() memcache.Result {
		return c.cache.Delete(r.Key, memcache.DeleteOptions{
			CAS:        m.Cas,
			Invalidate: m.SetStale,
			Touch:      m.HasTTL,
			TTL:        int64(m.TTL),
		})
	})
	it := protocol.MetaItem{Key: r.Key}
	switch res {
	case memcache.Deleted:
		c.metaQuietable(r, "HD", &it, "Ok")
	case memcache.Exists:
		c.metaStatus("EX", m, &it, "Ok")
	default:
		c.metaStatus("NF", m, &it, "Ok")
	}
}

func (c *Conn) execMetaArith(r *protocol.Request) {
	m := &r.Meta
	av, res := c.cache.Arith(r.Key, memcache.ArithOptions{
		Decr:      m.Mode == 'D' || m.Mode == '-',
		Delta:     m.Delta,
		CAS:       m.Cas,
		Vivify:    m.Vivify,
		VivifyTTL: int64(m.VivifyTTL),
		Initial:   m.Initial,
		Touch:     m.HasTTL,
		TTL:       int64(m.TTL),
	})
	it := protocol.MetaItem{Key: r.Key}
	switch res {
	case memcache.Hit:
		if r.Noreply {
			return
		}
		it.Cas, it.TTL = av.CAS, av.TTL
		num := strconv.AppendUint(c.scratch[:0], av.Value, 10)
		c.scratch = num
		if m.Value {
			c.out = append(c.out, "VA "...)
			c.out = strconv.AppendInt(c.out, int64(len(num)), 10)
		} else {
			c.out = append(c.out, "HD"...)
		}
		c.out = protocol.AppendMetaFlags(c.out, m, &it, "ctOk")
		c.out = append(c.out, '\r', '\n')
		if m.Value {
			c.out = append(c.out, num...)
			c.out = append(c.out, '\r', '\n')
		}
	case memcache.NonNumeric:
		c.reply(protocol.ReplyNonNumeric)
	case memcache.NoMemory:
		c.reply(replyIncrNoMemory)
	case memcache.Exists:
		c.metaStatus("EX", m, &it, "Ok")
	case memcache.NotStored:
		c.metaStatus("NS", m, &it, "Ok")
	default:
		c.metaStatus("NF", m, &it, "Ok")
	}
}
