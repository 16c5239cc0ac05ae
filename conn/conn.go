package conn

import (
	"sync/atomic"
	"time"

	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/protocol"
)

// connState is a connection's state, published for "stats conns" as a
// small integer: an atomic store of one, skipped when the state has not
// changed, costs far less per request than publishing a string.
type connState uint32

// Connection states.
const (
	stateWaiting connState = iota
	stateRead
	stateParse
	stateNread
	stateSwallow
	stateClosing
	stateNegotiat
)

// stateNames are memcached's "stats conns" names for the states.
var stateNames = [...]string{
	stateWaiting:  "conn_waiting",
	stateRead:     "conn_read",
	stateParse:    "conn_parse_cmd",
	stateNread:    "conn_nread",
	stateSwallow:  "conn_swallow",
	stateClosing:  "conn_closing",
	stateNegotiat: "conn_new_cmd",
}

// maxAuthValue bounds the value of the -Y authentication "set": memcached
// reads it into its fixed 16 KiB read buffer, so a larger one can never
// complete there; we close instead of buffering it.
const maxAuthValue = 16384

// maxIdleBuffer is the output buffer capacity a connection keeps between
// requests; larger buffers (grown for big values) are released once
// drained.
const maxIdleBuffer = 64 << 10

// maxPendingOutput bounds the replies a connection produces before its
// client has taken them. Small values are copied into the replies (large
// ones are sent from their pinned items, stream.go, and count here too),
// so without it a client that sends gets and never reads would make the
// server hold -R values per connection, and one get naming a value many
// times would hold that many copies. Past it, Process stops as at the -R
// limit, and a multi-get stops between two keys, until the host has sent
// the output; a connection then holds at most this much plus one value.
// It is a Diggi message's worth of replies rather than more, because a
// client that does not read holds it for as long as it does not read
// (bench/RESULTS.md, noread case).
const maxPendingOutput = 64 << 10

// Conn is one client connection's protocol state machine. All methods
// except State and LastCmd must be called from one goroutine at a time;
// Feed and Process call into the engine, so the host holds whatever lock
// guards the engine around them.
type Conn struct {
	cache  *memcache.Cache
	host   Host
	shared *Shared
	set    Settings

	proto Protocol // decided protocol; ProtocolAuto until the first byte

	in   []byte // buffered input; in[off:] is unprocessed
	off  int
	need int // len(in[off:]) must reach this before parsing again
	// nread: the pending request's line is parsed and its value is being
	// read (memcached's conn_nread).
	nread bool

	swallow int // bytes still to discard

	nr nread // a large value being read into its item (nread.go)

	out  []byte // pending output; out[sent:] is unsent
	sent int
	st   stream // a value sent from its pinned item, at st.at in out (stream.go)
	// flushed is where memcached would have started transmitting: replies
	// before it are beyond recall, replies after it are still queued and
	// some error paths discard them (see discardQueued).
	flushed int

	closed bool

	authed      bool
	authPending int // >0: waiting for this many auth value bytes (with "\r\n")
	authResp    int // offset in out of this batch's authentication reply, or -1

	text    protocol.TextParser
	bin     protocol.BinParser
	req     protocol.Request
	binReq  protocol.BinRequest
	get     pendingGet
	ops     opsState // watch and metadump (watch.go)
	scratch []byte

	tracer   Tracer
	traceID  int
	tracing  bool   // tracer wants lines during this Process
	traceBuf []byte // scratch for traced lines

	state   atomic.Uint32 // a connState
	lastCmd atomic.Int64  // unix nanoseconds of the engine clock
}

// New returns a connection that serves cache for host. shared must be the
// server's one Shared value.
func New(cache *memcache.Cache, host Host, shared *Shared, set Settings) *Conn {
	if set.ReqsPerEvent <= 0 {
		set.ReqsPerEvent = DefaultReqsPerEvent
	}
	if set.Version == "" {
		set.Version = DefaultVersion
	}
	c := &Conn{cache: cache, host: host, shared: shared, set: set, proto: set.Protocol}
	if set.ASCIIAuth {
		// memcached refuses to start with -Y and a binary -B; with -Y the
		// connection speaks ASCII whatever the first byte is.
		c.proto = ProtocolASCII
	}
	item := cache.Config().ItemSizeMax
	c.text.MaxItemSize = item
	c.bin.MaxItemSize = item
	c.setState(stateNegotiat)
	c.lastCmd.Store(cache.Now().UnixNano())
	return c
}

// Feed processes in after the connection's buffered input, like Process.
// The connection keeps no reference to in; the caller may reuse it.
//
// When nothing is buffered (the common case: whole requests in one read)
// the requests are parsed straight from in, and only an incomplete request
// left at its end is copied: the input buffer exists only while a request
// is incomplete or a yield left requests behind, and is given back as
// soon as it is drained (memcached hands an idle connection's read
// buffer back too).
func (c *Conn) Feed(in []byte) (more bool) {
	if c.closed {
		return false
	}
	c.shared.BytesRead.Add(uint64(len(in)))
	if c.nr.active && c.off == len(c.in) {
		// Straight into the item: the value never passes through c.in.
		in = in[c.nr.fill(in):]
	}
	if c.off == len(c.in) {
		c.in, c.off = in, 0
		more = c.Process()
		c.keepRest()
		return more
	}
	if c.off > 0 && c.off >= len(c.in)/2 {
		// Compact when the consumed prefix dominates, so copying stays
		// linear in the bytes received.
		n := copy(c.in, c.in[c.off:])
		c.in, c.off = c.in[:n], 0
	}
	c.in = append(c.in, in...)
	return c.Process()
}

// keepRest copies the input Process left unconsumed, which may alias the
// caller's buffer, into a buffer of the connection's own. Nothing else
// refers to the input past Process: a suspended multi-get owns its keys
// (pendingGet.own), a value being read has its head copied (nread).
func (c *Conn) keepRest() {
	rest := c.in[c.off:]
	c.off = 0
	if len(rest) == 0 {
		c.in = nil
		return
	}
	// Room for the rest and a quarter more, not twice the rest: the rest
	// is often many whole requests left behind while the output is
	// blocked (a client that pipelines and does not read), and it is held
	// for as long as the client does not read; append grows the buffer
	// if an incomplete request needs more.
	c.in = append(make([]byte, 0, max(len(rest)+len(rest)/4, minInputBuffer)), rest...)
}

// minInputBuffer is the smallest input buffer a connection allocates for
// an incomplete request.
const minInputBuffer = 4 << 10

// Process handles buffered requests, at most Settings.ReqsPerEvent of
// them. It returns true when it stopped with work left: at that limit with
// input left, or because maxPendingOutput bytes of replies wait (a
// multi-get may be part way through). The host should then send Output,
// let other connections run, and call Process again once the output has
// gone.
func (c *Conn) Process() (more bool) {
	budget := c.set.ReqsPerEvent
	c.shared.watch.cfd = c.ops.id // names this connection in fetch lines
	c.flushed = len(c.out)
	c.authResp = -1
	if c.tracer != nil {
		c.refreshTracing()
	}
	c.setState(stateParse)
	defer c.idle()
	for !c.closed {
		if c.ops.watchFlags != 0 {
			c.off = len(c.in) // a watcher's input is read and dropped
			return false
		}
		if c.ops.dumping {
			if !c.resumeMetaDump() {
				return true
			}
			continue
		}
		if c.get.active {
			if !c.resumeGet() {
				return true
			}
			continue
		}
		if c.nr.active {
			if !c.resumeNread() {
				return false
			}
			continue
		}
		if c.swallow > 0 {
			n := min(c.swallow, len(c.in)-c.off)
			c.off += n
			c.swallow -= n
			if c.swallow > 0 {
				return false
			}
			continue
		}
		avail := len(c.in) - c.off
		if avail == 0 || avail < c.need {
			return false
		}
		if budget == 0 {
			c.shared.ConnYields.Add(1)
			return true
		}
		if c.pending() >= maxPendingOutput {
			return true
		}
		if !c.step() {
			return false
		}
		budget--
	}
	return false
}

// step parses and executes one request. It returns false when the input
// holds no complete request.
func (c *Conn) step() bool {
	buf := c.in[c.off:]
	if c.proto == ProtocolAuto {
		if buf[0] == protocol.MagicRequest {
			c.proto = ProtocolBinary
		} else {
			c.proto = ProtocolASCII
		}
		if c.tracing {
			c.traceString(TraceNote, "Client using the ", c.proto.String()+" protocol")
		}
	}
	if c.set.ASCIIAuth && !c.authed {
		return c.stepAuth(buf)
	}
	if c.proto == ProtocolBinary {
		n, need := c.bin.Parse(buf, &c.binReq)
		if n == 0 {
			if c.startNread(buf, need) {
				return true
			}
			c.need, c.nread = need, need > protocol.BinHeaderLen && len(buf) >= protocol.BinHeaderLen
			return false
		}
		c.need = 0
		c.off += n
		c.touchLastCmd()
		if c.tracing {
			c.traceBinHeader(TraceIn, "Read binary protocol data:", "  ", buf[:protocol.BinHeaderLen])
		}
		c.execBinary(&c.binReq)
		return true
	}
	n, need := c.text.Parse(buf, &c.req)
	if n == 0 {
		// The parser asks for one more byte while it looks for the end of
		// the line, and for the whole block once it knows the value length.
		if c.startNread(buf, need) {
			return true
		}
		c.need, c.nread = need, need > len(buf)+1
		return false
	}
	c.need = 0
	c.off += n
	c.touchLastCmd()
	if c.tracing {
		c.traceRequestLine(buf[:n])
	}
	c.execText(&c.req)
	return true
}

// touchLastCmd records the engine time of a command. The engine clock
// moves in whole seconds, so most requests find it unchanged and skip the
// store (a locked instruction on amd64).
func (c *Conn) touchLastCmd() {
	if t := c.cache.Now().UnixNano(); c.lastCmd.Load() != t {
		c.lastCmd.Store(t)
	}
}

// idle runs when Process returns: it gives back a drained input buffer
// (and drops the parsed requests' references into it), so an idle
// connection holds no input buffer, then publishes the state.
func (c *Conn) idle() {
	if c.off == len(c.in) && c.swallow == 0 && !c.nr.active && c.in != nil {
		c.in, c.off = nil, 0
		c.req.Forget()
		c.binReq = protocol.BinRequest{}
	}
	c.updateState()
}

func (c *Conn) updateState() {
	switch {
	case c.closed:
		c.setState(stateClosing)
	case c.swallow > 0:
		c.setState(stateSwallow)
	case c.nr.active || c.need > 0 && (c.nread || c.authPending > 0):
		c.setState(stateNread)
	case len(c.in)-c.off > 0:
		c.setState(stateRead)
	default:
		c.setState(stateWaiting)
	}
}

// Output returns the next bytes waiting to be sent: the replies, or a
// large value's bytes straight from its item (stream.go). Empty means
// nothing waits; a host sends until then. The slice is valid until the
// next Feed, Process, Sent or Close.
func (c *Conn) Output() []byte {
	if c.streaming() {
		if c.sent < c.st.at {
			return c.out[c.sent:c.st.at]
		}
		return c.st.pin.Value[c.st.off:]
	}
	return c.out[c.sent:]
}

// Sent records that the host wrote n bytes of Output. It may release the
// pinned item a value was sent from, so the host calls it where it may
// call the engine (like Feed).
func (c *Conn) Sent(n int) {
	if !c.streaming() {
		c.sentOut(n)
		return
	}
	total := 0
	for n > 0 {
		k := min(n, len(c.Output()))
		if k == 0 {
			break
		}
		n -= k
		total += k
		if c.streaming() && c.sent == c.st.at {
			c.st.off += k
			if c.st.off == len(c.st.pin.Value) {
				c.endStream()
			}
			continue
		}
		c.sent += k
	}
	if total == 0 {
		return
	}
	c.shared.BytesWritten.Add(uint64(total))
	if !c.streaming() {
		c.sentOut(0)
	}
}

// sentOut is Sent while no value is sent from an item: n bytes of out
// went, and a drained buffer is reset (or given back, if it grew large).
func (c *Conn) sentOut(n int) {
	n = max(0, min(n, len(c.out)-c.sent))
	if n > 0 {
		c.sent += n
		c.shared.BytesWritten.Add(uint64(n))
	}
	if c.sent == len(c.out) && c.sent > 0 {
		if cap(c.out) > maxIdleBuffer {
			c.out = nil
		}
		c.out, c.sent, c.flushed, c.authResp = c.out[:0], 0, 0, -1
	}
}

// Closed reports whether the connection is finished: the host sends what
// Output still holds, then closes the socket.
func (c *Conn) Closed() bool { return c.closed }

// Close tells the connection its socket is gone; it drops its buffers and
// releases the item a value was being read into and the item a value was
// being sent from. Like Feed, it calls the engine.
func (c *Conn) Close() {
	c.abortNread()
	c.endStream()
	c.unwatch()
	c.watchConnEvent(false)
	c.ops.transport = "" // logged once
	c.closed = true
	c.in, c.off, c.need, c.swallow = nil, 0, 0, 0
	c.setState(stateClosing)
}

// State returns memcached's name for the connection's state. Safe to call
// from any goroutine.
func (c *Conn) State() string { return stateNames[c.state.Load()] }

func (c *Conn) setState(st connState) {
	if c.state.Load() != uint32(st) {
		c.state.Store(uint32(st))
	}
}

// LastCmd returns the engine time of the connection's last command. Safe to
// call from any goroutine.
func (c *Conn) LastCmd() time.Time { return time.Unix(0, c.lastCmd.Load()) }

// close marks the connection for closing after its output is sent and
// drops unprocessed input.
func (c *Conn) close() {
	c.closed = true
	c.in, c.off, c.need, c.swallow = c.in[:0], 0, 0, 0
}

// flush marks the replies so far as transmitted, where memcached switches
// to conn_mwrite (after a get, mn, binary noop or error).
func (c *Conn) flush() { c.flushed = len(c.out) }

// discardQueued drops the replies memcached still has queued, as its
// conn_release_items does when a multi-get fails part way.
func (c *Conn) discardQueued() {
	c.out = c.out[:max(c.flushed, c.sent)]
	if c.streaming() && c.st.at > len(c.out) {
		c.endStream() // its reply was among the dropped ones
	}
}

// reply appends a text reply line: memcached's out_string.
func (c *Conn) reply(s string) {
	if c.tracing {
		c.traceString(TraceOut, "", s)
	}
	c.out = protocol.AppendLine(c.out, s)
}
