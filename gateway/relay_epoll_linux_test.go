//go:build linux

package gateway

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// pollSpin must come back empty-handed, not block, when nothing is ready
// (the relay then sleeps in epoll_wait), and must report what is ready.
func TestPollSpin(t *testing.T) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(epfd)
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(efd)
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, efd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(efd)}); err != nil {
		t.Fatal(err)
	}
	events := make([]syscall.EpollEvent, groupBatch)

	if n, err := pollSpin(epfd, events); n != 0 || err != nil {
		t.Fatalf("nothing ready: pollSpin = %d, %v; want 0, nil", n, err)
	}
	if _, err := syscall.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	n, err := pollSpin(epfd, events)
	if n != 1 || err != nil || events[0].Fd != int32(efd) || events[0].Events&syscall.EPOLLIN == 0 {
		t.Fatalf("eventfd ready: pollSpin = %d, %v, event %+v; want 1, nil, EPOLLIN on fd %d", n, err, events[0], efd)
	}
	if n, err := pollSpin(-1, events); n != 0 || err != syscall.EBADF {
		t.Fatalf("bad descriptor: pollSpin = %d, %v; want 0, EBADF", n, err)
	}
}
