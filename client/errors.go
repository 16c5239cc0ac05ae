package client

import (
	"errors"
	"fmt"

	"github.com/securecached/securecached/protocol"
)

// Errors callers branch on. Server-side failures that have no sentinel come
// back as *ServerError.
var (
	ErrCacheMiss       = errors.New("memcache: cache miss")
	ErrNotStored       = errors.New("memcache: item not stored")
	ErrCASConflict     = errors.New("memcache: compare-and-swap conflict")
	ErrTooLarge        = errors.New("memcache: value too large")
	ErrNonNumeric      = errors.New("memcache: value is not a number")
	ErrMalformedKey    = errors.New("memcache: key empty, longer than 250 bytes, or (text/meta) with spaces or control characters")
	ErrReservedFlag    = errors.New("memcache: client flag bit 30 is reserved for compression")
	ErrServerDead      = errors.New("memcache: server marked dead")
	ErrNoServers       = errors.New("memcache: no servers configured")
	ErrNoLiveServers   = errors.New("memcache: no live servers")
	ErrNoTrustedServer = errors.New("memcache: sensitive item but no trusted server")
	ErrClosed          = errors.New("memcache: client closed")
	ErrConnBroken      = errors.New("memcache: connection broken")
	ErrUnknownNetwork  = errors.New("memcache: no dialer for the server's network")
)

// ServerError is a response status the client has no sentinel for.
type ServerError struct {
	Addr    string
	Status  uint16
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("memcache: server %s: status 0x%02x: %s", e.Addr, e.Status, e.Message)
}

// statusErr maps a response status to an error. notStoredOnMiss is for
// replace/append/prepend, where a missing key means "not stored";
// existsIsCAS tells a CAS conflict from add's "already exists".
func statusErr(addr string, r protocol.BinResponse, notStoredOnMiss, existsIsCAS bool) error {
	switch r.Header.Status {
	case protocol.StatusOK:
		return nil
	case protocol.StatusKeyNotFound:
		if notStoredOnMiss {
			return ErrNotStored
		}
		return ErrCacheMiss
	case protocol.StatusKeyExists:
		if existsIsCAS {
			return ErrCASConflict
		}
		return ErrNotStored
	case protocol.StatusNotStored:
		return ErrNotStored
	case protocol.StatusTooLarge:
		return ErrTooLarge
	case protocol.StatusNonNumeric:
		return ErrNonNumeric
	}
	return &ServerError{Addr: addr, Status: r.Header.Status, Message: string(r.Value)}
}
