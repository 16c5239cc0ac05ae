//go:build linux

package gateway

import (
	"bufio"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/securecached/securecached/config"
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

// Where the kernel has io_uring, a burst's replies leave through the ring
// (flush); the tests of the gateway cover what they see, this checks the
// ring is what carried them.
func TestEpollRelayBatchesReplies(t *testing.T) {
	st := newStack(t, stackOptions{relay: config.RelayEpoll})
	var ring bool
	st.gw.ctx.Scheduler().Run(func() { ring = st.gw.epoll.ring != nil })
	if !ring {
		t.Skip("io_uring unavailable here: replies are written one at a time")
	}
	clients := make([]net.Conn, 20)
	for i := range clients {
		clients[i] = st.dial(t)
	}
	for _, c := range clients {
		if _, err := c.Write([]byte("version\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
			t.Fatalf("client %d: %q, %v", i, line, err)
		}
	}
	var sent int
	st.gw.ctx.Scheduler().Run(func() { sent = st.gw.epoll.ringSent })
	if sent < len(clients) {
		t.Fatalf("%d replies went through the ring, want at least %d", sent, len(clients))
	}
}

// Where io_uring is unavailable (disabled, or filtered by a container's
// seccomp profile) every reply is written on its own: the gateway's tests
// of partial writes, slow readers, half-closes and bursts pass that way too.
func TestEpollRelayWithoutBatchedReplies(t *testing.T) {
	batchReplies = false
	defer func() { batchReplies = true }()
	for name, test := range map[string]func(*testing.T){
		"RelaysBothTrustModes":        TestGatewayRelaysBothTrustModes,
		"HalfCloseGetsReply":          TestGatewayHalfCloseGetsReply,
		"GroupServesBurstBeyondBatch": TestGatewayGroupServesBurstBeyondBatch,
		"SlowAndDeadClients":          TestGatewaySlowAndDeadClients,
		"Backpressure":                TestGatewayBackpressure,
	} {
		t.Run(name, test)
	}
}
