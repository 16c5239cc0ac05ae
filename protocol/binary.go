package protocol

import "encoding/binary"

// Binary protocol magic bytes and header size.
const (
	MagicRequest  = 0x80
	MagicResponse = 0x81
	BinHeaderLen  = 24
)

// Binary protocol opcodes memcached 1.6 knows.
const (
	OpGet        uint8 = 0x00
	OpSet        uint8 = 0x01
	OpAdd        uint8 = 0x02
	OpReplace    uint8 = 0x03
	OpDelete     uint8 = 0x04
	OpIncrement  uint8 = 0x05
	OpDecrement  uint8 = 0x06
	OpQuit       uint8 = 0x07
	OpFlush      uint8 = 0x08
	OpGetQ       uint8 = 0x09
	OpNoop       uint8 = 0x0a
	OpVersion    uint8 = 0x0b
	OpGetK       uint8 = 0x0c
	OpGetKQ      uint8 = 0x0d
	OpAppend     uint8 = 0x0e
	OpPrepend    uint8 = 0x0f
	OpStat       uint8 = 0x10
	OpSetQ       uint8 = 0x11
	OpAddQ       uint8 = 0x12
	OpReplaceQ   uint8 = 0x13
	OpDeleteQ    uint8 = 0x14
	OpIncrementQ uint8 = 0x15
	OpDecrementQ uint8 = 0x16
	OpQuitQ      uint8 = 0x17
	OpFlushQ     uint8 = 0x18
	OpAppendQ    uint8 = 0x19
	OpPrependQ   uint8 = 0x1a
	OpTouch      uint8 = 0x1c
	OpGAT        uint8 = 0x1d
	OpGATQ       uint8 = 0x1e
	OpSASLList   uint8 = 0x20
	OpSASLAuth   uint8 = 0x21
	OpSASLStep   uint8 = 0x22
	OpGATK       uint8 = 0x23
	OpGATKQ      uint8 = 0x24
)

// Binary protocol response statuses.
const (
	StatusOK             uint16 = 0x00
	StatusKeyNotFound    uint16 = 0x01
	StatusKeyExists      uint16 = 0x02
	StatusTooLarge       uint16 = 0x03
	StatusInvalidArgs    uint16 = 0x04
	StatusNotStored      uint16 = 0x05
	StatusNonNumeric     uint16 = 0x06
	StatusAuthError      uint16 = 0x20
	StatusAuthContinue   uint16 = 0x21
	StatusUnknownCommand uint16 = 0x81
	StatusOutOfMemory    uint16 = 0x82
)

// StatusText is the body memcached's write_bin_error sends for a status.
func StatusText(status uint16) string {
	switch status {
	case StatusOutOfMemory:
		return "Out of memory"
	case StatusUnknownCommand:
		return "Unknown command"
	case StatusKeyNotFound:
		return "Not found"
	case StatusInvalidArgs:
		return "Invalid arguments"
	case StatusKeyExists:
		return "Data exists for key."
	case StatusTooLarge:
		return "Too large."
	case StatusNonNumeric:
		return "Non-numeric server-side value for incr or decr"
	case StatusNotStored:
		return "Not stored."
	case StatusAuthError:
		return "Auth failure."
	}
	return "UNHANDLED ERROR"
}

// BinHeader is the 24-byte binary protocol header. Status is the vbucket
// id in requests.
type BinHeader struct {
	Magic    uint8
	Opcode   uint8
	KeyLen   uint16
	ExtLen   uint8
	DataType uint8
	Status   uint16
	BodyLen  uint32
	Opaque   uint32
	Cas      uint64
}

// DecodeBinHeader reads a header from the first BinHeaderLen bytes of b.
func DecodeBinHeader(b []byte) BinHeader {
	_ = b[BinHeaderLen-1]
	return BinHeader{
		Magic:    b[0],
		Opcode:   b[1],
		KeyLen:   binary.BigEndian.Uint16(b[2:]),
		ExtLen:   b[4],
		DataType: b[5],
		Status:   binary.BigEndian.Uint16(b[6:]),
		BodyLen:  binary.BigEndian.Uint32(b[8:]),
		Opaque:   binary.BigEndian.Uint32(b[12:]),
		Cas:      binary.BigEndian.Uint64(b[16:]),
	}
}

// AppendBinHeader appends h in wire order.
func AppendBinHeader(dst []byte, h BinHeader) []byte {
	dst = append(dst, h.Magic, h.Opcode)
	dst = binary.BigEndian.AppendUint16(dst, h.KeyLen)
	dst = append(dst, h.ExtLen, h.DataType)
	dst = binary.BigEndian.AppendUint16(dst, h.Status)
	dst = binary.BigEndian.AppendUint32(dst, h.BodyLen)
	dst = binary.BigEndian.AppendUint32(dst, h.Opaque)
	return binary.BigEndian.AppendUint64(dst, h.Cas)
}

// AppendBinResponse appends a complete response packet.
func AppendBinResponse(dst []byte, opcode uint8, status uint16, opaque uint32, cas uint64, extras, key, value []byte) []byte {
	dst = AppendBinResponseHead(dst, opcode, status, opaque, cas, extras, key, len(value))
	return append(dst, value...)
}

// AppendBinResponseHead appends a response packet up to its value, for a
// value of n bytes the caller sends itself right after.
func AppendBinResponseHead(dst []byte, opcode uint8, status uint16, opaque uint32, cas uint64, extras, key []byte, n int) []byte {
	h := BinHeader{Magic: MagicResponse, Opcode: opcode, Status: status, Opaque: opaque, Cas: cas,
		KeyLen: uint16(len(key)), ExtLen: uint8(len(extras)), BodyLen: uint32(len(extras) + len(key) + n)}
	dst = AppendBinHeader(dst, h)
	dst = append(dst, extras...)
	return append(dst, key...)
}

// AppendBinError appends memcached's error response for status: no extras,
// no key, StatusText as the body.
func AppendBinError(dst []byte, opcode uint8, status uint16, opaque uint32) []byte {
	return AppendBinResponse(dst, opcode, status, opaque, 0, nil, nil, []byte(StatusText(status)))
}

// AppendBinRequest appends a complete request packet.
func AppendBinRequest(dst []byte, opcode uint8, opaque uint32, cas uint64, extras, key, value []byte) []byte {
	h := BinHeader{Magic: MagicRequest, Opcode: opcode, Opaque: opaque, Cas: cas}
	return appendBinPacket(dst, h, extras, key, value)
}

// appendBinPacket appends h, with the body lengths filled in from extras,
// key and value, and then the body.
func appendBinPacket(dst []byte, h BinHeader, extras, key, value []byte) []byte {
	h.KeyLen, h.ExtLen = uint16(len(key)), uint8(len(extras))
	h.BodyLen = uint32(len(extras) + len(key) + len(value))
	dst = AppendBinHeader(dst, h)
	dst = append(dst, extras...)
	dst = append(dst, key...)
	return append(dst, value...)
}
