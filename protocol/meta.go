package protocol

import "encoding/base64"

// MetaFlags are the flags of a meta command (mg, ms, md, ma), decoded the
// way memcached's _meta_flag_preparse decodes them.
type MetaFlags struct {
	// Order lists the flag characters in request order; responses echo the
	// return flags (s t c f l h O k) in this order.
	Order []byte
	// Opaque is the whole O token, echoed back verbatim.
	Opaque []byte

	Base64Key bool // b: key is base64; responses re-encode it
	Value     bool // v: return the value
	NoBump    bool // u: do not bump the item in the LRU
	Quiet     bool // q: noreply semantics for nominal responses
	LastAcc   bool // l: return seconds since last access
	Hit       bool // h: return whether the item was fetched before
	SetStale  bool // I: invalidate (md: mark stale; ms: allow stale CAS)

	HasTTL      bool  // T: update/set the TTL
	TTL         int32 //
	Vivify      bool  // N: autovivify on miss with this TTL
	VivifyTTL   int32 //
	HasRecache  bool  // R: win a recache token if TTL below this
	RecacheTTL  int32 //
	HasCas      bool  // C: compare CAS
	Cas         uint64
	HasNewCas   bool   // E: use this CAS value for the new item (protocol.txt)
	NewCas      uint64 //
	ClientFlags uint32 // F: client flags for ms
	Mode        byte   // M: mode switch for ms and ma
	Initial     uint64 // J: initial value for ma autovivify
	Delta       uint64 // D: ma delta (default 1)
}

// Has reports whether flag f was given.
func (m *MetaFlags) Has(f byte) bool {
	for _, c := range m.Order {
		if c == f {
			return true
		}
	}
	return false
}

// Meta parse errors, as memcached words them.
const (
	errMetaBadFormat     = "CLIENT_ERROR bad command line format"
	errMetaDuplicate     = "CLIENT_ERROR duplicate flag"
	errMetaInvalidFlag   = "CLIENT_ERROR invalid flag"
	errMetaBadToken      = "CLIENT_ERROR bad token in command line format"
	errMetaDecodeKey     = "CLIENT_ERROR error decoding key"
	errMetaMLength       = "CLIENT_ERROR incorrect length for M token"
	errMetaInitial       = "CLIENT_ERROR invalid numeric initial value"
	errMetaDelta         = "CLIENT_ERROR invalid numeric delta value"
	errMetaOpaqueTooLong = "CLIENT_ERROR opaque token too long"
	errMetaInvalidOrDup  = "CLIENT_ERROR invalid or duplicate flag"
)

// parseMetaFlags decodes flag tokens into m and, when b is given, decodes
// key into buf. It returns the decoded key and the error text memcached
// would send ("" for none). Like memcached it stops at a duplicate or
// unknown flag, but keeps going after a bad value so the last error wins.
func parseMetaFlags(m *MetaFlags, key []byte, flags [][]byte, buf []byte) ([]byte, []byte, string) {
	var seen [128]bool
	errstr := ""
	m.Delta = 1
	for _, tok := range flags {
		o := tok[0]
		if o >= 127 || seen[o] {
			return key, buf, errMetaDuplicate
		}
		seen[o] = true
		arg := tok[1:]
		var ok bool
		switch o {
		case 'b':
			if w := base64DecodeInto(&buf, key); w <= 0 {
				errstr = errMetaDecodeKey
			} else {
				key = buf[:w]
			}
			m.Base64Key = true
		case 'N':
			m.Vivify = true
			if m.VivifyTTL, ok = ParseInt32(arg); !ok {
				errstr = errMetaBadToken
			}
		case 'T':
			if m.TTL, ok = ParseInt32(arg); !ok {
				errstr = errMetaBadToken
			} else {
				m.HasTTL = true
			}
		case 'R':
			m.HasRecache = true
			if m.RecacheTTL, ok = ParseInt32(arg); !ok {
				errstr = errMetaBadToken
			}
		case 'l':
			m.LastAcc = true
		case 'O':
			m.Opaque = tok
		case 'P', 'L', 'k', 's', 't', 'c', 'f':
		case 'v':
			m.Value = true
		case 'h':
			m.Hit = true
		case 'u':
			m.NoBump = true
		case 'q':
			m.Quiet = true
		case 'F':
			if m.ClientFlags, ok = ParseUint32(arg); !ok {
				// memcached flags the error without choosing a message, so
				// an earlier one (or the command's default) stands.
				if errstr == "" {
					errstr = errMetaBadFormat
				}
			}
		case 'C':
			if m.Cas, ok = ParseUint64(arg); !ok {
				errstr = errMetaBadToken
			} else {
				m.HasCas = true
			}
		case 'E':
			if m.NewCas, ok = ParseUint64(arg); !ok {
				errstr = errMetaBadToken
			} else {
				m.HasNewCas = true
			}
		case 'M':
			if len(tok) != 2 {
				errstr = errMetaMLength
			} else {
				m.Mode = tok[1]
			}
		case 'J':
			if m.Initial, ok = ParseUint64(arg); !ok {
				errstr = errMetaInitial
			}
		case 'D':
			if m.Delta, ok = ParseUint64(arg); !ok {
				errstr = errMetaDelta
			}
		case 'I':
			m.SetStale = true
		default:
			return key, buf, errMetaInvalidFlag
		}
		m.Order = append(m.Order, o)
	}
	return key, buf, errstr
}

// base64DecodeInto decodes src into *buf, growing it, and returns the
// decoded length, or -1 if src is not valid base64.
func base64DecodeInto(buf *[]byte, src []byte) int {
	n := base64.StdEncoding.DecodedLen(len(src))
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	*buf = (*buf)[:n]
	w, err := base64.StdEncoding.Decode(*buf, src)
	if err != nil {
		return -1
	}
	return w
}
