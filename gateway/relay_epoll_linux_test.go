//go:build linux

package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testwire"
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
	events := make([]syscall.EpollEvent, loopBatch)

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

// ringStack starts a stack with the epoll relay and returns it with the
// gateway's scheduler; it skips the test where the relay has no ring.
func ringStack(t *testing.T) (*stack, *diggi.Scheduler) {
	t.Helper()
	st := newStack(t, stackOptions{relay: config.RelayEpoll})
	sched := st.gw.ctx.Scheduler()
	var ring bool
	sched.Run(func() { _, ring = st.gw.epoll.out.(*ringWriter) })
	if !ring {
		t.Skip("io_uring unavailable here: replies are written one at a time")
	}
	return st, sched
}

// Where the kernel has io_uring, the replies of a burst leave in one
// submission. The test holds the gateway's baton while twenty clients send
// a request each, so the relay finds them all ready at once and the cache
// agent answers them as one burst.
func TestEpollRelayBatchesReplies(t *testing.T) {
	st, sched := ringStack(t)
	clients := make([]net.Conn, 20)
	readers := make([]*bufio.Reader, len(clients))
	for i := range clients {
		clients[i] = st.dial(t)
		readers[i] = bufio.NewReader(clients[i])
		testwire.Exchange(t, clients[i], readers[i], "verbosity 0\r\n", "OK\r\n")
	}
	held, release := make(chan struct{}), make(chan struct{})
	go sched.Run(func() { close(held); <-release })
	<-held
	for _, c := range clients {
		if _, err := c.Write([]byte("version\r\n")); err != nil {
			close(release)
			t.Fatal(err)
		}
	}
	close(release)
	for i, r := range readers {
		clients[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
			t.Fatalf("client %d: %q, %v", i, line, err)
		}
	}
	var most int
	sched.Run(func() { most = st.gw.epoll.out.(*ringWriter).maxFlush })
	if most < 2 {
		t.Fatalf("the most replies one submission carried: %d, want several", most)
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

// A flush closes the clients whose sends failed as it goes. Clients that
// check every value they read, beside many that ask for replies and reset
// their connections, must get exactly their replies.
func TestEpollRelayFlushWithResets(t *testing.T) {
	st := newStack(t, stackOptions{relay: config.RelayEpoll})
	const checkers, rounds, resetters = 24, 300, 200
	value := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 2000) }
	for i := range checkers {
		c := st.dial(t)
		testwire.Exchange(t, c, bufio.NewReader(c), fmt.Sprintf("set k%d 0 0 2000\r\n%s\r\n", i, value(i)), "STORED\r\n")
	}
	var wg sync.WaitGroup
	errs := make(chan error, checkers)
	for i := range checkers {
		c := st.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(c)
			want := fmt.Sprintf("VALUE k%d 0 2000\r\n%s\r\nEND\r\n", i, value(i))
			got := make([]byte, len(want))
			for round := range rounds {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := fmt.Fprintf(c, "get k%d\r\n", i); err != nil {
					errs <- fmt.Errorf("client %d round %d: %v", i, round, err)
					return
				}
				if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
					errs <- fmt.Errorf("client %d round %d: %.40q, %v", i, round, got, err)
					return
				}
			}
		}()
	}
	for range resetters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", st.addr)
			if err != nil {
				return
			}
			c.Write([]byte(strings.Repeat("get k0\r\n", 50)))
			time.Sleep(200 * time.Microsecond)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A ring that fails (here: closed under the relay) is dropped at the next
// flush, whose replies are then written one at a time, and so is every
// reply after it: clients see nothing of it.
func TestEpollRelayRingFailureFallsBack(t *testing.T) {
	st, sched := ringStack(t)
	var ring bool
	c := st.dial(t)
	r := bufio.NewReader(c)
	value := strings.Repeat("v", 3000)
	testwire.Exchange(t, c, r, "set k 0 0 3000\r\n"+value+"\r\n", "STORED\r\n")
	sched.Run(func() { st.gw.epoll.out.(*ringWriter).ring.Close() })
	for i := range 3 {
		testwire.Exchange(t, c, r, "get k\r\n", "VALUE k 0 3000\r\n"+value+"\r\nEND\r\n")
		sched.Run(func() { _, ring = st.gw.epoll.out.(*ringWriter) })
		if ring {
			t.Fatalf("after reply %d the relay still uses its failed ring", i)
		}
	}
}

// An event the loop collected for a client that a task then closed must
// not reach the client adopted next on the same descriptor number: the
// generation the kernel hands back in the event's data tells them apart.
func TestEpollRelayDropsStaleEvent(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(epfd)
	e := &epollRelay{conns: map[int]*relayConn{}}
	e.gen = ^uint32(0) - 1 // the generation's top bit and its wrap reach the kernel and back
	newConn := func() *relayConn {
		e.gen++
		c := &relayConn{fd: fds[0], gen: e.gen}
		e.conns[c.fd] = c
		return c
	}
	a := newConn()
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, a.fd, epollEvent(a, syscall.EPOLLOUT)); err != nil {
		t.Fatal(err)
	}
	events := make([]syscall.EpollEvent, 1)
	if n, err := syscall.EpollWait(epfd, events, 1000); n != 1 || err != nil {
		t.Fatalf("epoll_wait: %d, %v", n, err)
	}
	if got := e.lookup(events[0]); got != a {
		t.Fatalf("a current event found %p, want client A %p", got, a)
	}
	// A closes and B takes its number before the event is served.
	for range 2 {
		delete(e.conns, a.fd)
		b := newConn()
		if got := e.lookup(events[0]); got != nil {
			t.Fatalf("client A's stale event reached client %p (generation %d, the event's %d)", got, b.gen, uint32(events[0].Pad))
		}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_MOD, b.fd, epollEvent(b, syscall.EPOLLOUT)); err != nil {
			t.Fatal(err)
		}
		var fresh [1]syscall.EpollEvent
		if n, err := syscall.EpollWait(epfd, fresh[:], 1000); n != 1 || err != nil {
			t.Fatalf("epoll_wait: %d, %v", n, err)
		}
		if got := e.lookup(fresh[0]); got != b {
			t.Fatalf("client B's own event found %p, want %p", got, b)
		}
		a = b
	}
}
