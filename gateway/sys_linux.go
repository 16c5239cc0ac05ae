//go:build linux

package gateway

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// pollSpin polls epfd for ready events until some come or relaySpin has
// passed, yielding the processor between polls so the spin never delays
// another goroutine. Under load the first poll finds clients ready, so the
// clock is read only once one has come back empty.
func pollSpin(epfd int, events []syscall.EpollEvent) (int, error) {
	n, err := rawEpollPoll(epfd, events)
	if n != 0 || err != nil {
		return n, err
	}
	deadline := time.Now().Add(relaySpin)
	for {
		runtime.Gosched()
		n, err = rawEpollPoll(epfd, events)
		if n != 0 || err != nil || time.Now().After(deadline) {
			return n, err
		}
	}
}

// rawRead skips the Go scheduler's syscall bookkeeping: the sockets are
// non-blocking, so the call never waits in the kernel.
func rawRead(fd int, p []byte) (int, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// rawEpollPoll is epoll_wait with a timeout of 0 (epoll_pwait with no
// signal mask, which every Linux architecture has): it never waits either.
func rawEpollPoll(epfd int, events []syscall.EpollEvent) (int, error) {
	r, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
