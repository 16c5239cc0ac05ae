package client

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/securecached/securecached/protocol"
)

// metaCodec is memcached 1.6's meta protocol (mg, ms, md, ma, mn); the
// server-wide commands use the text protocol's words, as memcached does.
type metaCodec struct{}

func (metaCodec) ordered() bool { return true }

func (metaCodec) appendRequest(dst []byte, r *request, _ uint32) ([]byte, error) {
	flag := func(dst []byte, f byte, v uint64) []byte { return strconv.AppendUint(append(dst, ' ', f), v, 10) }
	sflag := func(dst []byte, f byte, v int32) []byte { return strconv.AppendInt(append(dst, ' ', f), int64(v), 10) }
	switch r.op {
	case protocol.OpGetK, protocol.OpGATK:
		dst = append(append(append(dst, "mg "...), r.key...), " v f c"...)
		if r.op == protocol.OpGATK {
			dst = sflag(dst, 'T', r.exptime)
		}
		return append(dst, "\r\n"...), nil
	case protocol.OpTouch:
		dst = sflag(append(append(dst, "mg "...), r.key...), 'T', r.exptime)
		return append(dst, "\r\n"...), nil
	case protocol.OpGetKQ:
		for _, k := range r.keys {
			dst = append(append(append(dst, "mg "...), k...), " v f c k q\r\n"...)
		}
		return append(dst, "mn\r\n"...), nil
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace, protocol.OpAppend, protocol.OpPrepend:
		mode := map[uint8]byte{protocol.OpSet: 'S', protocol.OpAdd: 'E', protocol.OpReplace: 'R',
			protocol.OpAppend: 'A', protocol.OpPrepend: 'P'}[r.op]
		dst = append(append(dst, "ms "...), r.key...)
		dst = strconv.AppendUint(append(dst, ' '), uint64(len(r.value)), 10)
		dst = sflag(flag(dst, 'F', uint64(r.flags)), 'T', r.exptime)
		dst = append(dst, ' ', 'M', mode)
		if r.cas != 0 {
			dst = flag(dst, 'C', r.cas)
		}
		dst = append(append(append(dst, " c\r\n"...), r.value...), "\r\n"...)
		return dst, nil
	case protocol.OpDelete:
		return append(append(append(dst, "md "...), r.key...), "\r\n"...), nil
	case protocol.OpIncrement, protocol.OpDecrement:
		mode := "I"
		if r.op == protocol.OpDecrement {
			mode = "D"
		}
		dst = append(append(append(dst, "ma "...), r.key...), " v M"+mode...)
		return append(flag(dst, 'D', r.delta), "\r\n"...), nil
	}
	return appendTextAdmin(dst, r)
}

// metaStatus maps meta reply codes to binary statuses.
var metaStatus = map[string]uint16{
	"HD": protocol.StatusOK, "NS": protocol.StatusNotStored, "EX": protocol.StatusKeyExists,
	"NF": protocol.StatusKeyNotFound, "EN": protocol.StatusKeyNotFound,
}

// metaFlags parses the return flags after a meta reply code.
func metaFlags(tokens [][]byte) (key []byte, flags uint32, cas uint64, err error) {
	for _, t := range tokens {
		if len(t) == 0 {
			continue
		}
		v := t[1:]
		ok := true
		switch t[0] {
		case 'k':
			key = v
		case 'f':
			flags, ok = protocol.ParseUint32(v)
		case 'c':
			cas, ok = protocol.ParseUint64(v)
		}
		if !ok {
			return nil, 0, 0, fmt.Errorf("%w: meta flag %q", errBadReply, t)
		}
	}
	return key, flags, cas, nil
}

func (metaCodec) readCall(br *bufio.Reader, r *request, maxBody int) ([]protocol.BinResponse, error) {
	switch r.op {
	case protocol.OpFlush, protocol.OpVersion, protocol.OpStat:
		return textCodec{}.readCall(br, r, maxBody)
	}
	var out []protocol.BinResponse
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if e, ok := errorReply(r.op, line); ok {
			return append(out, e), nil
		}
		f := bytes.Fields(line)
		if len(f) == 0 {
			return nil, fmt.Errorf("%w: empty line", errBadReply)
		}
		code := string(f[0])
		switch {
		case code == "MN" && r.op == protocol.OpGetKQ:
			return append(out, reply(protocol.OpNoop, protocol.StatusOK)), nil
		case code == "VA":
			if len(f) < 2 {
				return nil, fmt.Errorf("%w: %q", errBadReply, line)
			}
			n, ok := protocol.ParseUint64(f[1])
			if !ok || n > uint64(maxBody) {
				return nil, fmt.Errorf("%w: %q", errBadReply, line)
			}
			key, flags, cas, err := metaFlags(f[2:])
			if err != nil {
				return nil, err
			}
			data, err := readData(br, int(n), maxBody)
			if err != nil {
				return nil, err
			}
			if r.op == protocol.OpIncrement || r.op == protocol.OpDecrement {
				v, ok := protocol.ParseUint64(data)
				if !ok {
					return nil, fmt.Errorf("%w: counter value %q", errBadReply, data)
				}
				rr := reply(r.op, protocol.StatusOK)
				rr.Value = binary.BigEndian.AppendUint64(nil, v)
				return []protocol.BinResponse{rr}, nil
			}
			if key == nil {
				key = []byte(r.key)
			}
			out = append(out, valueReply(r.op, key, flags, cas, data))
			if r.op != protocol.OpGetKQ {
				return out, nil
			}
		default:
			st, ok := metaStatus[code]
			if !ok {
				return nil, fmt.Errorf("%w: %q", errBadReply, line)
			}
			_, _, cas, err := metaFlags(f[1:])
			if err != nil {
				return nil, err
			}
			rr := reply(r.op, st)
			rr.Header.Cas = cas
			if r.op != protocol.OpGetKQ {
				return []protocol.BinResponse{rr}, nil
			}
			// In a quiet multi-get only misses' absence is quiet; anything
			// else is noise that still belongs to this call.
			out = append(out, rr)
		}
	}
}
