package conn

import "github.com/securecached/securecached/protocol"

// execMetaDebug answers "me". Memcached reads the item without side effects
// (no LRU bump, no fetched mark, no statistics); the engine offers no such
// read yet, so rather than report values with side effects the command is
// refused as memcached refuses a command it does not know.
func (c *Conn) execMetaDebug(r *protocol.Request) {
	c.reply(protocol.ReplyError)
}
