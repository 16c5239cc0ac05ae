//go:build unix

package gateway

import "syscall"

// setBacklog applies memcached's -b to a listener Go opened with its own
// backlog: listen(2) again on a listening socket just changes the backlog.
func setBacklog(l syscall.Conn, backlog int) error {
	raw, err := l.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := raw.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	return lerr
}
