package posix

import (
	"errors"
	"fmt"
	"syscall"
)

// Errors are syscall.Errno values, wrapped with context, so callers branch
// with errors.Is(err, syscall.EAGAIN) exactly as with real sockets.
var (
	EAGAIN       = syscall.EAGAIN       // non-blocking call would block
	EBADF        = syscall.EBADF        // not an open descriptor (of the right kind)
	ECONNREFUSED = syscall.ECONNREFUSED // no listener on that agent and port
	ECONNRESET   = syscall.ECONNRESET   // the peer aborted the connection
	EPIPE        = syscall.EPIPE        // write after shutdown or to a closed pipe
	ENOTCONN     = syscall.ENOTCONN     // socket not connected
	EADDRINUSE   = syscall.EADDRINUSE   // port already listened on in this agent
	EINPROGRESS  = syscall.EINPROGRESS  // non-blocking connect started
	EINVAL       = syscall.EINVAL       // operation not valid in the socket's state
	EISCONN      = syscall.EISCONN      // already connected
	EMFILE       = syscall.EMFILE       // descriptor table full
)

// errStopped reports that the agent stopped while the call waited.
var errStopped = errors.New("posix: agent stopped")

func fdErr(op string, fd int, err error) error {
	return fmt.Errorf("%s fd %d: %w", op, fd, err)
}

// opErr is an errno with the operation that hit it, preallocated for the
// EAGAIN an event-driven caller meets on every drained read or full write:
// building an fmt.Errorf there cost an allocation and formatting per request.
// It names the operation but not the descriptor, which the caller knows.
type opErr struct {
	op    string
	errno syscall.Errno
}

func (e *opErr) Error() string { return e.op + ": " + e.errno.Error() }

func (e *opErr) Unwrap() error { return e.errno }

// Preallocated would-block errors of the non-blocking calls.
var (
	errReadAgain   error = &opErr{op: "read", errno: EAGAIN}
	errWriteAgain  error = &opErr{op: "write", errno: EAGAIN}
	errAcceptAgain error = &opErr{op: "accept", errno: EAGAIN}
)
