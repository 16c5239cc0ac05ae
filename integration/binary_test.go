package integration

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Binary protocol opcodes by the names memcached's protocol_binary.h uses
// (lower case, without the PROTOCOL_BINARY_CMD_ prefix).
var binOpcodes = map[string]byte{
	"get": 0x00, "set": 0x01, "add": 0x02, "replace": 0x03, "delete": 0x04,
	"increment": 0x05, "decrement": 0x06, "quit": 0x07, "flush": 0x08, "getq": 0x09,
	"noop": 0x0a, "version": 0x0b, "getk": 0x0c, "getkq": 0x0d, "append": 0x0e,
	"prepend": 0x0f, "stat": 0x10, "setq": 0x11, "addq": 0x12, "replaceq": 0x13,
	"deleteq": 0x14, "incrementq": 0x15, "decrementq": 0x16, "quitq": 0x17,
	"flushq": 0x18, "appendq": 0x19, "prependq": 0x1a, "verbosity": 0x1b,
	"touch": 0x1c, "gat": 0x1d, "gatq": 0x1e, "gatk": 0x23, "gatkq": 0x24,
	"sasl_list_mechs": 0x20,
}

var binOpNames = func() map[byte]string {
	m := make(map[byte]string, len(binOpcodes))
	for name, op := range binOpcodes {
		m[op] = name
	}
	return m
}()

const (
	binReqMagic = 0x80
	binResMagic = 0x81
	binHeader   = 24
)

// binRequest is one binary protocol request; Extras is filled from the
// opcode's usual fields unless set explicitly.
type binRequest struct {
	Magic    byte
	Opcode   byte
	Key      []byte
	Extras   []byte
	Value    []byte
	CAS      uint64
	Opaque   uint32
	VBucket  uint16
	DataType byte
	// BodyLen overrides the computed body length when >= 0 (malformed requests).
	BodyLen int64
}

// encode appends the request in wire format to dst.
func (r *binRequest) encode(dst []byte) []byte {
	var h [binHeader]byte
	h[0] = r.Magic
	h[1] = r.Opcode
	binary.BigEndian.PutUint16(h[2:], uint16(len(r.Key)))
	h[4] = byte(len(r.Extras))
	h[5] = r.DataType
	binary.BigEndian.PutUint16(h[6:], r.VBucket)
	body := uint32(len(r.Extras) + len(r.Key) + len(r.Value))
	if r.BodyLen >= 0 {
		body = uint32(r.BodyLen)
	}
	binary.BigEndian.PutUint32(h[8:], body)
	binary.BigEndian.PutUint32(h[12:], r.Opaque)
	binary.BigEndian.PutUint64(h[16:], r.CAS)
	dst = append(dst, h[:]...)
	dst = append(dst, r.Extras...)
	dst = append(dst, r.Key...)
	return append(dst, r.Value...)
}

// binResponse is one parsed binary response.
type binResponse struct {
	Magic, Opcode, DataType byte
	Status                  uint16
	Opaque                  uint32
	CAS                     uint64
	Extras, Key, Value      []byte
}

// errBadFrame means the bytes read are not a binary response header.
var errBadFrame = errors.New("not a binary response")

// readBinResponse reads one response packet. A packet with another magic
// byte is an error: the stream cannot be framed any more.
func readBinResponse(r io.Reader) (binResponse, error) {
	var h [binHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return binResponse{}, err
	}
	if h[0] != binResMagic {
		return binResponse{}, fmt.Errorf("%w: magic 0x%02x in header % x", errBadFrame, h[0], h)
	}
	keyLen := int(binary.BigEndian.Uint16(h[2:]))
	extLen := int(h[4])
	bodyLen := int(binary.BigEndian.Uint32(h[8:]))
	if bodyLen < keyLen+extLen || bodyLen > 64<<20 {
		return binResponse{}, fmt.Errorf("%w: body length %d (key %d, extras %d)", errBadFrame, bodyLen, keyLen, extLen)
	}
	body := make([]byte, bodyLen)
	if _, err := io.ReadFull(r, body); err != nil {
		return binResponse{}, err
	}
	return binResponse{
		Magic: h[0], Opcode: h[1], DataType: h[5],
		Status: binary.BigEndian.Uint16(h[6:]),
		Opaque: binary.BigEndian.Uint32(h[12:]),
		CAS:    binary.BigEndian.Uint64(h[16:]),
		Extras: body[:extLen], Key: body[extLen : extLen+keyLen], Value: body[extLen+keyLen:],
	}, nil
}

// parseBinRequest reads the script form of a binary request:
//
//	OPNAME [key=K] [value=V] [flags=N] [exptime=N] [delta=N] [initial=N]
//	       [verbosity=N] [cas=N] [opaque=N] [extras=HEX] [magic=N] [vbucket=N]
//	       [datatype=N] [bodylen=N]
//
// Values use the script's escapes (already expanded by the caller through
// expand). Extras follow the opcode: flags+exptime for set/add/replace,
// delta+initial+exptime for increment/decrement, exptime for touch/gat and
// (when given) flush, verbosity for verbosity.
func parseBinRequest(fields []string, expand func(string) (string, error)) (binRequest, error) {
	if len(fields) == 0 {
		return binRequest{}, fmt.Errorf("binary request needs an opcode")
	}
	req := binRequest{Magic: binReqMagic, BodyLen: -1}
	name := fields[0]
	if op, ok := binOpcodes[name]; ok {
		req.Opcode = op
	} else if n, err := strconv.ParseUint(name, 0, 8); err == nil {
		req.Opcode = byte(n)
	} else {
		return req, fmt.Errorf("unknown binary opcode %q", name)
	}
	vals := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return req, fmt.Errorf("binary field %q is not key=value", f)
		}
		ev, err := expand(v)
		if err != nil {
			return req, err
		}
		vals[k] = ev
	}
	num := func(k string, bits int) (uint64, bool, error) {
		v, ok := vals[k]
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.ParseUint(v, 0, bits)
		if err != nil {
			return 0, true, fmt.Errorf("binary field %s=%q: %v", k, v, err)
		}
		return n, true, nil
	}
	var err error
	get := func(k string, bits int) uint64 {
		n, _, e := num(k, bits)
		if e != nil && err == nil {
			err = e
		}
		return n
	}
	has := func(k string) bool { _, ok := vals[k]; return ok }

	req.Key = []byte(vals["key"])
	req.Value = []byte(vals["value"])
	req.CAS = get("cas", 64)
	req.Opaque = uint32(get("opaque", 32))
	req.VBucket = uint16(get("vbucket", 16))
	req.DataType = byte(get("datatype", 8))
	if has("magic") {
		req.Magic = byte(get("magic", 8))
	}
	if has("bodylen") {
		req.BodyLen = int64(get("bodylen", 32))
	}
	be32 := func(v uint64) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
	be64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	switch {
	case has("extras"):
		var x []byte
		if _, e := fmt.Sscanf(vals["extras"], "%x", &x); e != nil && vals["extras"] != "" {
			return req, fmt.Errorf("extras=%q: want hex", vals["extras"])
		}
		req.Extras = x
	default:
		switch strings.TrimSuffix(name, "q") {
		case "set", "add", "replace":
			req.Extras = append(be32(get("flags", 32)), be32(get("exptime", 32))...)
		case "increment", "decrement":
			req.Extras = append(append(be64(get("delta", 64)), be64(get("initial", 64))...), be32(get("exptime", 32))...)
		case "touch", "gat", "gatk":
			req.Extras = be32(get("exptime", 32))
		case "flush":
			if has("exptime") {
				req.Extras = be32(get("exptime", 32))
			}
		case "verbosity":
			req.Extras = be32(get("verbosity", 32))
		}
	}
	return req, err
}
