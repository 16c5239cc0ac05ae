package memcache

import "errors"

// Result is the outcome of an engine command. Each value maps to one
// memcached reply; the conn chooses the spelling (text or meta).
type Result uint8

// Results, with the text protocol reply each one stands for.
const (
	// Stored: "STORED" / meta "HD".
	Stored Result = iota + 1
	// NotStored: "NOT_STORED" / meta "NS" (add on existing, replace,
	// append or prepend on missing, ma autovivify that could not store).
	NotStored
	// Exists: "EXISTS" / meta "EX" (CAS mismatch).
	Exists
	// NotFound: "NOT_FOUND" / meta "NF".
	NotFound
	// TooLarge: "SERVER_ERROR object too large for cache".
	TooLarge
	// NoMemory: "SERVER_ERROR out of memory storing object" (for incr/decr
	// memcached says "SERVER_ERROR out of memory").
	NoMemory
	// Deleted: "DELETED" / meta "HD".
	Deleted
	// Touched: "TOUCHED" / meta "HD".
	Touched
	// NonNumeric: "CLIENT_ERROR cannot increment or decrement non-numeric value".
	NonNumeric
	// Hit: an incr/decr (or ma) that succeeded; the reply is the number.
	Hit
)

var resultNames = [...]string{
	Stored:     "Stored",
	NotStored:  "NotStored",
	Exists:     "Exists",
	NotFound:   "NotFound",
	TooLarge:   "TooLarge",
	NoMemory:   "NoMemory",
	Deleted:    "Deleted",
	Touched:    "Touched",
	NonNumeric: "NonNumeric",
	Hit:        "Hit",
}

func (r Result) String() string {
	if int(r) < len(resultNames) && resultNames[r] != "" {
		return resultNames[r]
	}
	return "Result(?)"
}

// Mode selects the storage command.
type Mode uint8

// Storage modes: the text commands set/add/replace/append/prepend/cas and
// ms's M flag (S, E, R, A, P; ms with C in mode S is ModeCAS).
const (
	ModeSet Mode = iota + 1
	ModeAdd
	ModeReplace
	ModeAppend
	ModePrepend
	ModeCAS
)

var modeNames = [...]string{
	ModeSet: "set", ModeAdd: "add", ModeReplace: "replace",
	ModeAppend: "append", ModePrepend: "prepend", ModeCAS: "cas",
}

func (m Mode) String() string {
	if int(m) < len(modeNames) && modeNames[m] != "" {
		return modeNames[m]
	}
	return "mode(?)"
}

// Errors for misuse of the API (never for cache misses, which are Results).
var (
	// ErrKeyLength: the key is empty or longer than KeyMaxLength.
	ErrKeyLength = errors.New("memcache: key length must be 1..250 bytes")
	// ErrBadMode: an unknown Mode value.
	ErrBadMode = errors.New("memcache: unknown storage mode")
	// ErrBadReservation: Commit or Abort of a reservation that was already
	// committed or aborted, or that this Cache did not make.
	ErrBadReservation = errors.New("memcache: reservation is not outstanding")
	// ErrValueLength: a negative value length.
	ErrValueLength = errors.New("memcache: negative value length")
)
