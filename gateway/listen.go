package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
)

// listenTCP opens a TCP listener with memcached's -b backlog. Go's net
// package always asks for the kernel's maximum backlog; calling listen(2)
// again on the listening socket is how Linux lets us lower (or restate) it.
func listenTCP(addr string, backlog int) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on TCP %s: %w", addr, err)
	}
	if err := setBacklog(l.(*net.TCPListener), backlog); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen backlog %d on %s: %w", backlog, addr, err)
	}
	return l, nil
}

// listenUnix opens the -s socket with the -a permission mask. A stale socket
// file from an earlier run is removed first, as memcached does; any other
// kind of file at that path is left alone and reported.
func listenUnix(path string, mask fs.FileMode, backlog int) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("unix socket %s: a non-socket file is in the way", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("unix socket %s: remove stale socket: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("unix socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on unix socket %s: %w", path, err)
	}
	if err := os.Chmod(path, mask); err != nil {
		l.Close()
		return nil, fmt.Errorf("unix socket %s: set mask %o: %w", path, mask, err)
	}
	if err := setBacklog(l.(*net.UnixListener), backlog); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen backlog %d on %s: %w", backlog, path, err)
	}
	return l, nil
}
