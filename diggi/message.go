package diggi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// MsgType says how the message manager dispatches a message (§3.3).
type MsgType uint8

// Message types known to the runtime. Applications may define their own
// types from TypeUser upwards and Subscribe to them.
const (
	TypeRegular   MsgType = 1 // plain agent-to-agent message
	TypeRequest   MsgType = 2 // opens a request/response session
	TypeResponse  MsgType = 3 // answers the request with the same Session
	TypeNetIO     MsgType = 4 // socket I/O (diggi/posix)
	TypeTimer     MsgType = 5 // clock tick or timeout from the runtime
	TypeHandshake MsgType = 6 // a Channel's key exchange (never sealed)
	TypeLinkLost  MsgType = 7 // the runtime: the link to an instance broke (see Instance.LinkLost)
	TypeUser      MsgType = 32
)

func (t MsgType) String() string {
	switch t {
	case TypeRegular:
		return "regular"
	case TypeRequest:
		return "request"
	case TypeResponse:
		return "response"
	case TypeNetIO:
		return "netio"
	case TypeTimer:
		return "timer"
	case TypeHandshake:
		return "handshake"
	case TypeLinkLost:
		return "linklost"
	}
	return "type" + strconv.Itoa(int(t))
}

// Flags qualify a message.
type Flags uint8

const (
	// FlagError marks a response that carries an error text instead of a
	// result (for example, the runtime bouncing a request whose
	// destination vanished).
	FlagError Flags = 1 << iota
	// FlagSealed marks a payload transformed by a Channel on send.
	FlagSealed
)

// HeaderSize is the length of a marshalled Header.
const HeaderSize = 40

// MaxPayload bounds a single message's payload. Larger application data
// (socket writes, big values) is split by the layer above.
const MaxPayload = 1 << 20

// Header is the fixed part of every message. It is what the untrusted
// router sees; a Channel may authenticate it (all fields but Len) as
// associated data.
type Header struct {
	Src     AgentID // sender
	Dst     AgentID // recipient
	Type    MsgType
	Flags   Flags
	Len     uint32 // payload length in bytes (as carried, i.e. sealed)
	Session uint64 // request/response or socket session id; 0 if none
	Seq     uint64 // per (Src, Dst) pair sequence number, starting at 1
}

// ErrShortHeader reports a buffer too small to hold a Header.
var ErrShortHeader = errors.New("diggi: short message header")

// AppendBinary appends the 40-byte big-endian wire form of h to b:
// src(8) dst(8) type(1) flags(1) reserved(2) len(4) session(8) seq(8).
func (h *Header) AppendBinary(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(h.Src))
	b = binary.BigEndian.AppendUint64(b, uint64(h.Dst))
	b = append(b, byte(h.Type), byte(h.Flags), 0, 0)
	b = binary.BigEndian.AppendUint32(b, h.Len)
	b = binary.BigEndian.AppendUint64(b, h.Session)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	return b
}

// ParseHeader decodes the wire form written by AppendBinary.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes", ErrShortHeader, len(b))
	}
	h := Header{
		Src:     AgentID(binary.BigEndian.Uint64(b[0:])),
		Dst:     AgentID(binary.BigEndian.Uint64(b[8:])),
		Type:    MsgType(b[16]),
		Flags:   Flags(b[17]),
		Len:     binary.BigEndian.Uint32(b[20:]),
		Session: binary.BigEndian.Uint64(b[24:]),
		Seq:     binary.BigEndian.Uint64(b[32:]),
	}
	if h.Len > MaxPayload+1024 {
		return Header{}, fmt.Errorf("diggi: header length %d exceeds limit", h.Len)
	}
	return h, nil
}

// Message is one message in flight. Ownership rules: whoever holds a
// *Message owns it until handing it on (to a queue, to Forward) or
// releasing it. A handler receives a message only for the duration of the
// call: the runtime recycles it afterwards, so copy what you keep (§4.6),
// or take the message itself with Manager.Keep and Release it later.
//
// A Message is 64 bytes, one cache line: the ownership checks below keep
// their state in fields it has anyway (a released message's Len, a kept
// one's nil buf) rather than in a field of their own.
type Message struct {
	Header
	buf []byte // backing store, cap reused through the pool; nil once kept (Manager.Keep)
}

// freedLen marks a released message's Len (no payload is that long), so
// that Release can refuse a second release.
const freedLen = ^uint32(0)

// Payload returns the message body. The slice is valid only while the
// message is owned.
func (m *Message) Payload() []byte { return m.buf[:m.Len] }

// SetPayload replaces the body with a copy of p (used by routers that
// rewrite messages).
func (m *Message) SetPayload(p []byte) {
	m.buf = append(m.buf[:0], p...)
	m.Len = uint32(len(p))
}

// Clone returns a new message from the pool with the same header and a copy
// of the payload; the caller owns it.
func (m *Message) Clone() *Message {
	c := NewMessage(int(m.Len))
	c.Header = m.Header
	copy(c.buf, m.Payload())
	return c
}

// sizeClasses are the pooled buffer capacities; payloads above the largest
// class are allocated and left to the GC.
var sizeClasses = [...]int{256, 4096, 65536}

var pools [len(sizeClasses)]sync.Pool

func init() {
	for i, c := range sizeClasses {
		size := c
		pools[i].New = func() any { return &Message{buf: make([]byte, 0, size)} }
	}
}

// NewMessage returns a message from the pool with room for a payload of n
// bytes; Len is n and the header is zero. Give it back with Release or by
// sending it.
func NewMessage(n int) *Message {
	for i, c := range sizeClasses {
		if n <= c {
			m := pools[i].Get().(*Message)
			m.Header = Header{}
			m.buf = m.buf[:n]
			m.Len = uint32(n)
			return m
		}
	}
	return &Message{buf: make([]byte, n), Header: Header{Len: uint32(n)}}
}

// Release returns m to the pool. m must not be used afterwards. Releasing
// a message twice panics (a handler that releases the message it was lent
// makes the runtime's own release the second): it would hand one buffer to
// two owners through the pool.
func Release(m *Message) {
	if m.Len == freedLen {
		panic("diggi: message released twice")
	}
	m.Len = freedLen
	c := cap(m.buf)
	for i, size := range sizeClasses {
		if c == size {
			m.buf = m.buf[:0]
			pools[i].Put(m)
			return
		}
	}
}
