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
