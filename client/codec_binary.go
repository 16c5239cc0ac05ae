package client

import (
	"bufio"
	"errors"

	"github.com/securecached/securecached/protocol"
)

// codec turns requests into bytes and, for ordered protocols, reads a
// call's whole reply, translated into binary protocol responses so the rest
// of the client handles one shape.
type codec interface {
	// ordered is true when replies come back in request order with no tag
	// (text, meta): the reader then parses by the request at the queue's head.
	ordered() bool
	appendRequest(dst []byte, r *request, opaque uint32) ([]byte, error)
	readCall(br *bufio.Reader, r *request, maxBody int) ([]protocol.BinResponse, error)
}

// binaryCodec is the binary protocol: replies carry the request's opaque.
type binaryCodec struct{}

func (binaryCodec) ordered() bool { return false }

func (binaryCodec) readCall(*bufio.Reader, *request, int) ([]protocol.BinResponse, error) {
	return nil, errors.New("memcache: binary replies are read by opaque")
}

func (binaryCodec) appendRequest(dst []byte, r *request, opaque uint32) ([]byte, error) {
	key := []byte(r.key)
	switch r.op {
	case protocol.OpGetK, protocol.OpDelete, protocol.OpVersion, protocol.OpNoop:
		return protocol.AppendBinRequest(dst, r.op, opaque, 0, nil, key, nil), nil
	case protocol.OpGATK, protocol.OpTouch:
		return protocol.AppendBinExptime(dst, r.op, opaque, key, binExptime(r.exptime)), nil
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace:
		return protocol.AppendBinStore(dst, r.op, opaque, r.cas, r.flags, binExptime(r.exptime), key, r.value), nil
	case protocol.OpAppend, protocol.OpPrepend:
		return protocol.AppendBinRequest(dst, r.op, opaque, 0, nil, key, r.value), nil
	case protocol.OpIncrement, protocol.OpDecrement:
		return protocol.AppendBinCounter(dst, r.op, opaque, key, r.delta, 0, noAutoCreate), nil
	case protocol.OpFlush:
		if r.exptime > 0 {
			return protocol.AppendBinExptime(dst, r.op, opaque, nil, uint32(r.exptime)), nil
		}
		return protocol.AppendBinRequest(dst, r.op, opaque, 0, nil, nil, nil), nil
	case protocol.OpStat:
		return protocol.AppendBinRequest(dst, r.op, opaque, 0, nil, []byte(r.group), nil), nil
	case protocol.OpGetKQ:
		for _, k := range r.keys {
			dst = protocol.AppendBinRequest(dst, protocol.OpGetKQ, opaque, 0, nil, []byte(k), nil)
		}
		return protocol.AppendBinRequest(dst, protocol.OpNoop, opaque, 0, nil, nil, nil), nil
	}
	return nil, errors.New("memcache: binary codec: unsupported request")
}
