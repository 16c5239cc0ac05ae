package posix

import (
	"encoding/binary"
	"fmt"
)

// A socket segment is the payload of a TypeNetIO message whose Session is
// the connection's session id (chosen by the connecting side, unique within
// that agent), so that one client holds many sessions to one server
// (§4.6). Layout: op(1) flags(1) port(2) value(4) data.
const segHeader = 8

type op uint8

const (
	opConnect op = iota + 1 // open a connection to port; value = initiator's receive window; data = its Origin, if any
	opAccept                // connection accepted; value = acceptor's receive window
	opRefuse                // nothing listens on port (or its backlog is full)
	opData                  // stream bytes; value = a window grant riding on them, or 0
	opWindow                // value = more bytes the sender may send
	opFin                   // the sender will send no more data (half-close)
	opReset                 // the connection is aborted
	opBatch                 // data for several sessions; value = record count (see batch.go)
)

// fromInitiator marks a segment sent by the side that connected, so that an
// agent that both dials and accepts to the same peer keeps the two sets of
// sessions apart.
const fromInitiator = 1

// windowLimited marks a data segment whose sender was held back by the
// receiver's window: the segment used up the window with more to write,
// or the write before it found no window at all. The receiver grows the
// window once its reader has emptied the buffer (window.go).
const windowLimited = 2

// withGrant marks a batch record that carries a window grant for the
// socket's peer (batch.go); a data segment carries one in its value.
// Grants ride on data going the other way whenever there is some, as
// TCP's window updates ride on its ACKs, so request and reply traffic
// sends few messages of grants alone.
const withGrant = 4

type segment struct {
	op    op
	flags uint8
	port  uint16
	value uint32
	data  []byte // aliases the (transient, unless kept: socket.go) message payload
}

func appendSegment(b []byte, sg segment) []byte {
	b = append(b, byte(sg.op), sg.flags)
	b = binary.BigEndian.AppendUint16(b, sg.port)
	b = binary.BigEndian.AppendUint32(b, sg.value)
	return append(b, sg.data...)
}

func parseSegment(p []byte) (segment, error) {
	if len(p) < segHeader {
		return segment{}, fmt.Errorf("socket segment of %d bytes: shorter than its header", len(p))
	}
	sg := segment{
		op:    op(p[0]),
		flags: p[1],
		port:  binary.BigEndian.Uint16(p[2:]),
		value: binary.BigEndian.Uint32(p[4:]),
		data:  p[segHeader:],
	}
	if sg.op < opConnect || sg.op > opBatch {
		return segment{}, fmt.Errorf("socket segment: unknown op %d", sg.op)
	}
	if sg.op == opConnect {
		if len(sg.data) > maxOriginWire {
			return segment{}, fmt.Errorf("socket segment: connect carries %d bytes of origin, more than %d", len(sg.data), maxOriginWire)
		}
		return sg, nil
	}
	if sg.op != opData && sg.op != opBatch && len(sg.data) != 0 {
		return segment{}, fmt.Errorf("socket segment: op %d carries %d data bytes", sg.op, len(sg.data))
	}
	return sg, nil
}

// An Origin travels in its connect segment as two length-prefixed strings.
const maxOriginWire = 2 + 2*maxOriginField

func appendOrigin(b []byte, o Origin) []byte {
	if o == (Origin{}) {
		return b
	}
	b = append(b, byte(len(o.Peer)))
	b = append(b, o.Peer...)
	b = append(b, byte(len(o.Local)))
	return append(b, o.Local...)
}

func parseOrigin(p []byte) (Origin, error) {
	var o Origin
	if len(p) == 0 {
		return o, nil
	}
	field := func() (string, error) {
		if len(p) == 0 || len(p) < 1+int(p[0]) {
			return "", fmt.Errorf("connect origin truncated")
		}
		f := string(p[1 : 1+int(p[0])])
		p = p[1+int(p[0]):]
		if !printable(f) {
			return "", fmt.Errorf("connect origin %q: not printable ASCII", f)
		}
		return f, nil
	}
	var err error
	if o.Peer, err = field(); err != nil {
		return Origin{}, err
	}
	if o.Local, err = field(); err != nil {
		return Origin{}, err
	}
	if len(p) != 0 {
		return Origin{}, fmt.Errorf("connect origin: %d bytes after its fields", len(p))
	}
	return o, nil
}

// printable says s is printable ASCII. An origin is the initiator's word and
// ends up in text an acceptor sends on (a "stats conns" line inside a TLS
// session, say): a line break in it would let the initiator forge lines.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
