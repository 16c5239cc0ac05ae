package protocol

import (
	"encoding/base64"
	"strconv"
)

// AppendLine appends s and "\r\n".
func AppendLine(dst []byte, s string) []byte {
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// AppendValue appends a get/gets hit: "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n".
func AppendValue(dst, key []byte, flags uint32, value []byte, cas uint64, withCas bool) []byte {
	dst = AppendValueLine(dst, key, flags, len(value), cas, withCas)
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendValueLine appends the "VALUE <key> <flags> <bytes> [<cas>]\r\n"
// line of AppendValue alone, for a value of n bytes the caller sends
// itself, followed by "\r\n".
func AppendValueLine(dst, key []byte, flags uint32, n int, cas uint64, withCas bool) []byte {
	dst = append(dst, "VALUE "...)
	dst = append(dst, key...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(flags), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(n), 10)
	if withCas {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, cas, 10)
	}
	return append(dst, '\r', '\n')
}

// AppendEnd appends "END\r\n".
func AppendEnd(dst []byte) []byte { return append(dst, "END\r\n"...) }

// AppendStat appends "STAT <name> <value>\r\n".
func AppendStat(dst []byte, name, value string) []byte {
	dst = append(dst, "STAT "...)
	dst = append(dst, name...)
	dst = append(dst, ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendUintLine appends a number and "\r\n" (the incr/decr reply).
func AppendUintLine(dst []byte, v uint64) []byte {
	dst = strconv.AppendUint(dst, v, 10)
	return append(dst, '\r', '\n')
}

// MetaItem carries what a meta response can report about an item.
type MetaItem struct {
	Key        []byte
	Size       int
	TTL        int64 // -1: never expires
	Cas        uint64
	Flags      uint32
	LastAccess int64
	Fetched    bool
	TokenSent  bool // Z
	Stale      bool // X
	Won        bool // W
}

// AppendMetaFlags appends the return flags m asked for, in request order,
// for commands whose response reports an item: s t c f l h O k, then Z X W
// for mg. Which flags apply depends on the command: ms and md report only
// O k (and c for ms); the caller passes allowed as the set of letters its
// command echoes.
func AppendMetaFlags(dst []byte, m *MetaFlags, it *MetaItem, allowed string) []byte {
	for _, f := range m.Order {
		if !containsByte(allowed, f) {
			continue
		}
		switch f {
		case 's':
			dst = append(dst, " s"...)
			dst = strconv.AppendInt(dst, int64(it.Size), 10)
		case 't':
			dst = append(dst, " t"...)
			dst = strconv.AppendInt(dst, it.TTL, 10)
		case 'c':
			dst = append(dst, " c"...)
			dst = strconv.AppendUint(dst, it.Cas, 10)
		case 'f':
			dst = append(dst, " f"...)
			dst = strconv.AppendUint(dst, uint64(it.Flags), 10)
		case 'l':
			dst = append(dst, " l"...)
			dst = strconv.AppendInt(dst, it.LastAccess, 10)
		case 'h':
			if it.Fetched {
				dst = append(dst, " h1"...)
			} else {
				dst = append(dst, " h0"...)
			}
		case 'O':
			dst = append(dst, ' ')
			dst = append(dst, m.Opaque...)
		case 'k':
			dst = AppendMetaKey(dst, it.Key, m.Base64Key)
		}
	}
	return dst
}

// AppendMetaKey appends " k<key>", base64-encoded with a trailing " b" when
// the key was sent in base64.
func AppendMetaKey(dst, key []byte, b64 bool) []byte {
	dst = append(dst, " k"...)
	if !b64 {
		return append(dst, key...)
	}
	dst = base64.StdEncoding.AppendEncode(dst, key)
	return append(dst, " b"...)
}

// AppendMetaWinFlags appends mg's Z, X and W result flags.
func AppendMetaWinFlags(dst []byte, it *MetaItem) []byte {
	if it.TokenSent {
		dst = append(dst, " Z"...)
	}
	if it.Stale {
		dst = append(dst, " X"...)
	}
	if it.Won {
		dst = append(dst, " W"...)
	}
	return dst
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
