package conn

import (
	"bytes"

	"github.com/securecached/securecached/protocol"
)

// ASCII authentication (-Y), as memcached 1.6's try_read_command_asciiauth:
// until authenticated, the client must send
//
//	set <any> <any> <any> <bytes>\r\n<user> <password>\r\n
//
// Anything else is answered "CLIENT_ERROR unauthenticated".

const (
	replyUnauthenticated = "CLIENT_ERROR unauthenticated"
	replyAuthFailure     = "CLIENT_ERROR authentication failure"
	replyBadTermination  = "CLIENT_ERROR bad command line termination"
	replyBadAuthToken    = "CLIENT_ERROR bad authentication token format"
)

// authReply sends a reply of the authentication phase. Memcached answers
// these in a response object it reuses until the batch is transmitted, so
// within one batch of input each reply replaces the previous one.
func (c *Conn) authReply(s string) {
	if c.authResp >= c.sent && c.authResp <= len(c.out) {
		c.out = c.out[:c.authResp]
	}
	c.authResp = len(c.out)
	c.reply(s)
}

// stepAuth handles one step of the authentication exchange.
func (c *Conn) stepAuth(buf []byte) bool {
	if c.authPending == 0 {
		if len(buf) < 2 {
			c.need = 2
			return false
		}
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			if len(buf) > protocol.MaxLineLength {
				c.close()
				return true
			}
			c.need = len(buf) + 1
			return false
		}
		c.need = 0
		c.off += nl + 1
		c.touchLastCmd()
		// memcached leaves the '\r' in: its number parser stops at it.
		toks := splitSpaces(buf[:nl])
		size, ok := uint32(0), false
		if len(toks) >= 5 && string(toks[0]) == "set" {
			size, ok = protocol.ParseUint32(toks[4])
		}
		if !ok {
			c.authReply(replyUnauthenticated)
			return true
		}
		if int(size)+2 > maxAuthValue {
			c.close()
			return true
		}
		c.authPending = int(size) + 2
		return true
	}
	if len(buf) < c.authPending {
		c.need = c.authPending
		return false
	}
	c.need = 0
	val := buf[:c.authPending]
	c.off += c.authPending
	c.authPending = 0
	if val[len(val)-2] != '\r' || val[len(val)-1] != '\n' {
		c.authReply(replyBadTermination)
		return true
	}
	toks := splitSpaces(val[:len(val)-2])
	if len(toks) < 2 {
		c.authReply(replyBadAuthToken)
		return true
	}
	c.shared.AuthCmds.Add(1)
	if c.host.Authenticate(toks[0], toks[1]) {
		c.authed = true
		c.authReply("STORED")
		return true
	}
	c.shared.AuthErrors.Add(1)
	c.authReply(replyAuthFailure)
	return true
}

// splitSpaces splits like memcached's tokenizer: on single spaces, skipping
// empty tokens, stopping at a NUL byte.
func splitSpaces(line []byte) [][]byte {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	var out [][]byte
	for _, f := range bytes.Split(line, []byte(" ")) {
		if len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// Authenticating reports whether the connection still waits for -Y
// credentials, so what it receives may carry a password.
func (c *Conn) Authenticating() bool { return c.set.ASCIIAuth && !c.authed }
