package client

import (
	"fmt"

	"github.com/securecached/securecached/protocol"
)

// request is one call's request, independent of the wire format. Its op is
// the binary protocol's opcode for the command; the text and meta codecs
// translate from it.
type request struct {
	op      uint8 // OpGetK, OpGATK, OpTouch, OpSet/Add/Replace/Append/Prepend, OpDelete, OpIncrement, OpDecrement, OpFlush, OpVersion, OpStat, OpGetKQ (multi)
	key     string
	keys    []string // get-multi
	value   []byte
	flags   uint32
	exptime int32 // memcached semantics; negative = already expired
	cas     uint64
	delta   uint64
	group   string // stats group
}

// last reports whether r, a response to req, ends the call, for codecs that
// deliver responses one at a time (binary). Get-multi ends with the NOOP
// after its quiet gets; stats with an empty key or an error.
func (req *request) last(r protocol.BinResponse) bool {
	switch req.op {
	case protocol.OpGetKQ:
		return r.Header.Opcode == protocol.OpNoop
	case protocol.OpStat:
		return len(r.Key) == 0 || r.Header.Status != protocol.StatusOK
	}
	return true
}

// pastExptime is an absolute time (more than 30 days, so memcached reads it
// as a Unix time) long before any server started: the binary protocol's
// unsigned expiration has no negative "expire now", so it sends this.
const pastExptime = 30*24*60*60 + 1

// binExptime converts an expiration for the binary protocol.
func binExptime(e int32) uint32 {
	if e < 0 {
		return pastExptime
	}
	return uint32(e)
}

// Protocol is the wire format a client speaks.
type Protocol int

// The protocols. Binary is the thesis's (§4.8) and the default.
const (
	Binary Protocol = iota
	Text
	Meta
)

func (p Protocol) String() string {
	switch p {
	case Binary:
		return "binary"
	case Text:
		return "text"
	case Meta:
		return "meta"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// ParseProtocol returns the protocol called name.
func ParseProtocol(name string) (Protocol, error) {
	for _, p := range []Protocol{Binary, Text, Meta} {
		if p.String() == name {
			return p, nil
		}
	}
	return 0, fmt.Errorf("memcache: unknown protocol %q (want binary, text or meta)", name)
}

func (p Protocol) codec() codec {
	switch p {
	case Text:
		return textCodec{}
	case Meta:
		return metaCodec{}
	}
	return binaryCodec{}
}
