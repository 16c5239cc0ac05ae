//go:build unix

package gateway

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// detachFD takes nc's descriptor out of Go's poller for another agent of
// the process: a close-on-exec duplicate, and nc closed.
func detachFD(nc net.Conn) (int, error) {
	defer nc.Close()
	return dupFD(nc)
}

// dupFD returns a close-on-exec duplicate of the connection's descriptor;
// it shares the original's non-blocking mode. The fork lock keeps a child
// started meanwhile from inheriting it before it is marked close-on-exec.
func dupFD(nc net.Conn) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("%T has no file descriptor", nc)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := raw.Control(func(orig uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if fd, derr = syscall.Dup(int(orig)); derr == nil {
			syscall.CloseOnExec(fd)
		}
	}); err != nil {
		return -1, err
	}
	return fd, derr
}

// attachFD makes a connection of a descriptor detachFD gave out; it owns
// fd from then on.
func attachFD(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "client")
	defer f.Close()
	return net.FileConn(f)
}

func closeFD(fd int) { syscall.Close(fd) }
