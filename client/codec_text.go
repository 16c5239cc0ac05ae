package client

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/securecached/securecached/protocol"
)

// statusInternal is the binary protocol's "internal error" status, used for
// SERVER_ERROR replies that have no closer binary status.
const statusInternal uint16 = 0x84

// textCodec is memcached's classic text protocol. Replies come in request
// order; each is translated into binary responses.
type textCodec struct{}

func (textCodec) ordered() bool { return true }

func (textCodec) appendRequest(dst []byte, r *request, _ uint32) ([]byte, error) {
	u := func(dst []byte, v uint64) []byte { return strconv.AppendUint(append(dst, ' '), v, 10) }
	s := func(dst []byte, v int32) []byte { return strconv.AppendInt(append(dst, ' '), int64(v), 10) }
	switch r.op {
	case protocol.OpGetK:
		return append(append(append(dst, "gets "...), r.key...), "\r\n"...), nil
	case protocol.OpGATK:
		dst = s(append(dst, "gats"...), r.exptime)
		return append(append(append(dst, ' '), r.key...), "\r\n"...), nil
	case protocol.OpGetKQ:
		dst = append(dst, "gets"...)
		for _, k := range r.keys {
			dst = append(append(dst, ' '), k...)
		}
		return append(dst, "\r\n"...), nil
	case protocol.OpTouch:
		dst = append(append(dst, "touch "...), r.key...)
		return append(s(dst, r.exptime), "\r\n"...), nil
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace, protocol.OpAppend, protocol.OpPrepend:
		verb := map[uint8]string{protocol.OpSet: "set", protocol.OpAdd: "add", protocol.OpReplace: "replace",
			protocol.OpAppend: "append", protocol.OpPrepend: "prepend"}[r.op]
		if r.cas != 0 {
			verb = "cas"
		}
		dst = append(append(append(dst, verb...), ' '), r.key...)
		dst = u(s(u(dst, uint64(r.flags)), r.exptime), uint64(len(r.value)))
		if r.cas != 0 {
			dst = u(dst, r.cas)
		}
		dst = append(dst, "\r\n"...)
		return append(append(dst, r.value...), "\r\n"...), nil
	case protocol.OpDelete:
		return append(append(append(dst, "delete "...), r.key...), "\r\n"...), nil
	case protocol.OpIncrement, protocol.OpDecrement:
		verb := "incr "
		if r.op == protocol.OpDecrement {
			verb = "decr "
		}
		dst = append(append(dst, verb...), r.key...)
		return append(u(dst, r.delta), "\r\n"...), nil
	}
	return appendTextAdmin(dst, r)
}

// appendTextAdmin encodes the server-wide commands, which the meta protocol
// shares with the text protocol.
func appendTextAdmin(dst []byte, r *request) ([]byte, error) {
	switch r.op {
	case protocol.OpFlush:
		dst = append(dst, "flush_all"...)
		if r.exptime > 0 {
			dst = strconv.AppendInt(append(dst, ' '), int64(r.exptime), 10)
		}
		return append(dst, "\r\n"...), nil
	case protocol.OpVersion:
		return append(dst, "version\r\n"...), nil
	case protocol.OpStat:
		dst = append(dst, "stats"...)
		if r.group != "" {
			dst = append(append(dst, ' '), r.group...)
		}
		return append(dst, "\r\n"...), nil
	}
	return nil, errors.New("memcache: text codec: unsupported request")
}

// errBadReply marks a text or meta reply the client cannot parse; framing
// is lost and the connection must close.
var errBadReply = errors.New("memcache: malformed reply")

// readLine reads one "\r\n"-terminated line (without it). Lines longer than
// the reader's buffer are refused, bounding memory.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: line longer than %d bytes", errBadReply, br.Size())
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
	return bytes.Clone(line), nil
}

// readData reads n bytes of value and the "\r\n" after them.
func readData(br *bufio.Reader, n, maxBody int) ([]byte, error) {
	if n < 0 || n > maxBody {
		return nil, fmt.Errorf("%w: value of %d bytes", errBadReply, n)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, err
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return nil, fmt.Errorf("%w: value not followed by CRLF", errBadReply)
	}
	return buf[:n], nil
}

func reply(op uint8, status uint16) protocol.BinResponse {
	return protocol.BinResponse{Header: protocol.BinHeader{Magic: protocol.MagicResponse, Opcode: op, Status: status}}
}

func valueReply(op uint8, key []byte, flags uint32, cas uint64, value []byte) protocol.BinResponse {
	r := reply(op, protocol.StatusOK)
	r.Extras = binary.BigEndian.AppendUint32(nil, flags)
	r.Key, r.Value, r.Header.Cas = key, value, cas
	return r
}

// errorReply translates the error lines both ASCII protocols share, or
// reports ok=false for any other line.
func errorReply(op uint8, line []byte) (protocol.BinResponse, bool) {
	switch {
	case bytes.Equal(line, []byte("ERROR")):
		r := reply(op, protocol.StatusUnknownCommand)
		r.Value = line
		return r, true
	case bytes.HasPrefix(line, []byte("CLIENT_ERROR")):
		st := protocol.StatusInvalidArgs
		if bytes.Contains(line, []byte("non-numeric")) {
			st = protocol.StatusNonNumeric
		}
		r := reply(op, st)
		r.Value = line
		return r, true
	case bytes.HasPrefix(line, []byte("SERVER_ERROR")):
		st := statusInternal
		switch {
		case bytes.Contains(line, []byte("too large")):
			st = protocol.StatusTooLarge
		case bytes.Contains(line, []byte("out of memory")):
			st = protocol.StatusOutOfMemory
		}
		r := reply(op, st)
		r.Value = line
		return r, true
	}
	return protocol.BinResponse{}, false
}

// simpleReplies maps the one-word replies of storage, delete and touch.
var simpleReplies = map[string]uint16{
	"STORED": protocol.StatusOK, "DELETED": protocol.StatusOK, "TOUCHED": protocol.StatusOK, "OK": protocol.StatusOK,
	"NOT_STORED": protocol.StatusNotStored, "EXISTS": protocol.StatusKeyExists, "NOT_FOUND": protocol.StatusKeyNotFound,
}

func (textCodec) readCall(br *bufio.Reader, r *request, maxBody int) ([]protocol.BinResponse, error) {
	switch r.op {
	case protocol.OpGetK, protocol.OpGATK, protocol.OpGetKQ:
		return readTextValues(br, r, maxBody)
	case protocol.OpStat:
		return readTextStats(br, r)
	}
	line, err := readLine(br)
	if err != nil {
		return nil, err
	}
	if e, ok := errorReply(r.op, line); ok {
		return []protocol.BinResponse{e}, nil
	}
	switch r.op {
	case protocol.OpIncrement, protocol.OpDecrement:
		if st, ok := simpleReplies[string(line)]; ok {
			return []protocol.BinResponse{reply(r.op, st)}, nil
		}
		n, ok := protocol.ParseUint64(line)
		if !ok {
			return nil, fmt.Errorf("%w: counter reply %q", errBadReply, line)
		}
		rr := reply(r.op, protocol.StatusOK)
		rr.Value = binary.BigEndian.AppendUint64(nil, n)
		return []protocol.BinResponse{rr}, nil
	case protocol.OpVersion:
		v, ok := bytes.CutPrefix(line, []byte("VERSION "))
		if !ok {
			return nil, fmt.Errorf("%w: version reply %q", errBadReply, line)
		}
		rr := reply(r.op, protocol.StatusOK)
		rr.Value = v
		return []protocol.BinResponse{rr}, nil
	}
	st, ok := simpleReplies[string(line)]
	if !ok {
		return nil, fmt.Errorf("%w: %q", errBadReply, line)
	}
	return []protocol.BinResponse{reply(r.op, st)}, nil
}

// readTextValues reads "VALUE key flags bytes cas" blocks up to "END". A
// single get answers a miss as KeyNotFound; get-multi ends with a NOOP.
func readTextValues(br *bufio.Reader, r *request, maxBody int) ([]protocol.BinResponse, error) {
	var out []protocol.BinResponse
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(line, []byte("END")) {
			break
		}
		if e, ok := errorReply(r.op, line); ok {
			return []protocol.BinResponse{e}, nil
		}
		f := bytes.Fields(line)
		if len(f) < 4 || len(f) > 5 || !bytes.Equal(f[0], []byte("VALUE")) {
			return nil, fmt.Errorf("%w: %q", errBadReply, line)
		}
		flags, ok1 := protocol.ParseUint32(f[2])
		n, ok2 := protocol.ParseUint64(f[3])
		var cas uint64
		ok3 := true
		if len(f) == 5 {
			cas, ok3 = protocol.ParseUint64(f[4])
		}
		if !ok1 || !ok2 || !ok3 || n > uint64(maxBody) {
			return nil, fmt.Errorf("%w: %q", errBadReply, line)
		}
		data, err := readData(br, int(n), maxBody)
		if err != nil {
			return nil, err
		}
		out = append(out, valueReply(r.op, f[1], flags, cas, data))
	}
	if r.op == protocol.OpGetKQ {
		return append(out, reply(protocol.OpNoop, protocol.StatusOK)), nil
	}
	if len(out) == 0 {
		return []protocol.BinResponse{reply(r.op, protocol.StatusKeyNotFound)}, nil
	}
	return out[:1], nil
}

// readTextStats reads "STAT name value" lines up to "END", ending with an
// empty-key response as the binary protocol does.
func readTextStats(br *bufio.Reader, r *request) ([]protocol.BinResponse, error) {
	var out []protocol.BinResponse
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(line, []byte("END")) {
			return append(out, reply(r.op, protocol.StatusOK)), nil
		}
		if e, ok := errorReply(r.op, line); ok {
			return append(out, e), nil
		}
		rest, ok := bytes.CutPrefix(line, []byte("STAT "))
		name, value, ok2 := bytes.Cut(rest, []byte(" "))
		if !ok || !ok2 || len(name) == 0 {
			return nil, fmt.Errorf("%w: %q", errBadReply, line)
		}
		rr := reply(r.op, protocol.StatusOK)
		rr.Key, rr.Value = name, value
		out = append(out, rr)
	}
}
