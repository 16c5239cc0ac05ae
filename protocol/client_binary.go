package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Client side of the binary protocol: encoders for the requests a client
// sends and a parser for the responses it reads. The server side lives in
// binary.go and binary_parse.go; both share BinHeader and the opcodes.

// ErrBadResponse marks a response a client cannot trust: wrong magic,
// inconsistent lengths or a body larger than the client allows. The
// connection it came from must be closed, since framing is lost.
var ErrBadResponse = errors.New("protocol: bad binary response")

// BinResponse is one binary protocol response. Extras, Key and Value alias
// the body they were parsed from.
type BinResponse struct {
	Header BinHeader
	Extras []byte
	Key    []byte
	Value  []byte
}

// CheckBinResponseHeader validates a response header before its body is
// read: the magic and that extras and key fit in a body of at most maxBody
// bytes.
func CheckBinResponseHeader(h BinHeader, maxBody int) error {
	switch {
	case h.Magic != MagicResponse:
		return fmt.Errorf("%w: magic 0x%02x", ErrBadResponse, h.Magic)
	case int64(h.BodyLen) > int64(maxBody):
		return fmt.Errorf("%w: body of %d bytes exceeds the %d allowed", ErrBadResponse, h.BodyLen, maxBody)
	case uint32(h.ExtLen)+uint32(h.KeyLen) > h.BodyLen:
		return fmt.Errorf("%w: extras (%d) and key (%d) exceed body (%d)", ErrBadResponse, h.ExtLen, h.KeyLen, h.BodyLen)
	}
	return nil
}

// SplitBinBody splits a validated response body into extras, key and value.
func SplitBinBody(h BinHeader, body []byte) BinResponse {
	e, k := int(h.ExtLen), int(h.KeyLen)
	return BinResponse{Header: h, Extras: body[:e], Key: body[e : e+k], Value: body[e+k:]}
}

// ParseBinResponse parses one response from the start of b. It returns the
// bytes consumed, or 0 when b does not yet hold a whole response.
func ParseBinResponse(b []byte, maxBody int) (BinResponse, int, error) {
	if len(b) < BinHeaderLen {
		return BinResponse{}, 0, nil
	}
	h := DecodeBinHeader(b)
	if err := CheckBinResponseHeader(h, maxBody); err != nil {
		return BinResponse{}, 0, err
	}
	end := BinHeaderLen + int(h.BodyLen)
	if len(b) < end {
		return BinResponse{}, 0, nil
	}
	return SplitBinBody(h, b[BinHeaderLen:end]), end, nil
}

// AppendBinStore appends a SET/ADD/REPLACE request (or a quiet form); cas
// non-zero makes it a compare-and-swap. Extras are flags and expiration.
func AppendBinStore(dst []byte, opcode uint8, opaque uint32, cas uint64, flags uint32, exptime uint32, key, value []byte) []byte {
	var ext [8]byte
	binary.BigEndian.PutUint32(ext[0:], flags)
	binary.BigEndian.PutUint32(ext[4:], exptime)
	return AppendBinRequest(dst, opcode, opaque, cas, ext[:], key, value)
}

// AppendBinCounter appends an INCREMENT/DECREMENT request. An expiration of
// 0xffffffff tells the server not to create a missing counter.
func AppendBinCounter(dst []byte, opcode uint8, opaque uint32, key []byte, delta, initial uint64, exptime uint32) []byte {
	var ext [20]byte
	binary.BigEndian.PutUint64(ext[0:], delta)
	binary.BigEndian.PutUint64(ext[8:], initial)
	binary.BigEndian.PutUint32(ext[16:], exptime)
	return AppendBinRequest(dst, opcode, opaque, 0, ext[:], key, nil)
}

// AppendBinExptime appends a request whose only extra is an expiration:
// TOUCH, GAT/GATK and their quiet forms, and FLUSH (whose extra is a delay).
func AppendBinExptime(dst []byte, opcode uint8, opaque uint32, key []byte, exptime uint32) []byte {
	var ext [4]byte
	binary.BigEndian.PutUint32(ext[:], exptime)
	return AppendBinRequest(dst, opcode, opaque, 0, ext[:], key, nil)
}

// BinFlags reads the flags extra of a GET-family response (0 if absent).
func BinFlags(r BinResponse) uint32 {
	if len(r.Extras) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(r.Extras)
}

// BinCounterValue reads the 8-byte value of an INCREMENT/DECREMENT response.
func BinCounterValue(r BinResponse) (uint64, error) {
	if len(r.Value) != 8 {
		return 0, fmt.Errorf("%w: counter value of %d bytes", ErrBadResponse, len(r.Value))
	}
	return binary.BigEndian.Uint64(r.Value), nil
}
