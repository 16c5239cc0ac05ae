package experiments

import (
	"fmt"

	"github.com/securecached/securecached/protocol"
	"github.com/securecached/securecached/ycsb"
)

// pipeCodec is the pure half of a pipelined YCSB client agent: it encodes
// YCSB calls as binary protocol requests (get, add, replace, as YCSB's
// memcached binding and ycsb/memcachedb do) and matches the responses,
// which one memcached connection returns in request order, to the calls
// in flight, checking each one. It does no I/O.
type pipeCodec struct {
	w      *ycsb.Workload
	prefix []byte // "TABLE-": memcachedb's key layout
	key    []byte // scratch for prefix+key
	maxVal int    // the largest body a response may have

	// The calls in flight, oldest first, in a ring as large as the
	// window: flight[(head+i)%len] for i < count.
	flight []*ycsb.Call
	ops    []uint8 // opcode of each call in flight
	head   int
	count  int
	opaque uint32 // the next request's opaque; responses must echo theirs
}

func newPipeCodec(w *ycsb.Workload, table string, window int) *pipeCodec {
	// The body is a record and the 4-byte flags extra.
	maxVal := w.MaxRecordLen() + 4
	return &pipeCodec{
		w: w, prefix: []byte(table + "-"), maxVal: maxVal,
		flight: make([]*ycsb.Call, window), ops: make([]uint8, window),
	}
}

// outstanding is the number of calls sent and not answered.
func (c *pipeCodec) outstanding() int { return c.count }

// encode appends call's request to dst and puts the call in flight.
func (c *pipeCodec) encode(dst []byte, call *ycsb.Call) []byte {
	c.key = append(append(c.key[:0], c.prefix...), call.Key...)
	var op uint8
	switch call.Op {
	case ycsb.OpRead:
		op = protocol.OpGet
		dst = protocol.AppendBinRequest(dst, op, c.opaque, 0, nil, c.key, nil)
	case ycsb.OpInsert:
		op = protocol.OpAdd
		dst = protocol.AppendBinStore(dst, op, c.opaque, 0, 0, 0, c.key, call.Value)
	default: // ycsb.OpUpdate
		op = protocol.OpReplace
		dst = protocol.AppendBinStore(dst, op, c.opaque, 0, 0, 0, c.key, call.Value)
	}
	if c.count == len(c.flight) {
		panic("experiments: more calls in flight than the window")
	}
	i := (c.head + c.count) % len(c.flight)
	c.flight[i], c.ops[i] = call, op
	c.count++
	c.opaque++
	return dst
}

// decode takes one response from the start of in. It returns the call it
// answers with the call's YCSB status and the bytes consumed; n == 0 when
// in does not yet hold a whole response. An error means the stream cannot
// be trusted any more (framing lost, an unasked-for response): the
// connection must be dropped.
func (c *pipeCodec) decode(in []byte) (call *ycsb.Call, st ycsb.Status, n int, err error) {
	r, n, err := protocol.ParseBinResponse(in, c.maxVal)
	if err != nil || n == 0 {
		return nil, "", 0, err
	}
	if c.count == 0 {
		return nil, "", 0, fmt.Errorf("%w: response with nothing in flight", protocol.ErrBadResponse)
	}
	op, want := c.ops[c.head], c.opaque-uint32(c.count)
	if r.Header.Opaque != want || r.Header.Opcode != op {
		return nil, "", 0, fmt.Errorf("%w: opcode 0x%02x opaque %d answers request 0x%02x opaque %d",
			protocol.ErrBadResponse, r.Header.Opcode, r.Header.Opaque, op, want)
	}
	call, _ = c.drop()
	return call, c.status(op, r), n, nil
}

// status is how a response ends its call, as ycsb/memcachedb maps the
// client's errors: a miss is NOT_FOUND (a replace of a missing record
// too), any other failure ERROR. A read that hits must bring a record of
// the workload with its flags extra, or it is an ERROR too.
func (c *pipeCodec) status(op uint8, r protocol.BinResponse) ycsb.Status {
	switch r.Header.Status {
	case protocol.StatusOK:
	case protocol.StatusKeyNotFound:
		if op == protocol.OpAdd {
			return ycsb.StatusError
		}
		return ycsb.StatusNotFound
	case protocol.StatusNotStored:
		if op == protocol.OpReplace {
			return ycsb.StatusNotFound
		}
		return ycsb.StatusError
	default:
		return ycsb.StatusError
	}
	if op != protocol.OpGet {
		if len(r.Key) != 0 || len(r.Value) != 0 {
			return ycsb.StatusError
		}
		return ycsb.StatusOK
	}
	if len(r.Extras) != 4 || len(r.Key) != 0 || c.w.CheckRecord(r.Value) != nil {
		return ycsb.StatusError
	}
	return ycsb.StatusOK
}

// drop takes the oldest call in flight without a response, for a run that
// ends with calls unanswered.
func (c *pipeCodec) drop() (*ycsb.Call, bool) {
	if c.count == 0 {
		return nil, false
	}
	call := c.flight[c.head]
	c.flight[c.head] = nil
	c.head = (c.head + 1) % len(c.flight)
	c.count--
	return call, true
}
