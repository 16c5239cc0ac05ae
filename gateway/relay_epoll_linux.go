//go:build linux

package gateway

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/posix"
	"github.com/securecached/securecached/internal/uring"
)

// The epoll relay serves kernel sockets from one event loop goroutine and
// the gateway agent's own tasks, instead of two goroutines per client. It
// is a driver of relay state machines (relay.go): it does each client's
// I/O, reports the outcome to the client's relay, and makes the sockets'
// events match what the relay wants (apply). Replies leave through a
// replyWriter (reply_linux.go), which does not change what the relay sees.
//
// The loop has one scheduling mode: it takes at most loopBatch ready
// clients from epoll_wait, takes the gateway's baton once for them
// (Scheduler.Run), moves what each sent into its Diggi socket, the batch
// corked into one message to the cache agent, and then runs the cache
// agent's drain itself (diggi's Hold and Held.Run, an enclave entry), as
// each of memcached's workers serves its clients. The replies come back as
// Diggi read events, whose callbacks give them to the writer, and a flush
// task behind those events sends them. Then the loop polls briefly
// (pollSpin) and sleeps in epoll_wait.

// loopBatch is the most ready clients the loop takes from epoll_wait at a
// time. It carries each batch through the cache agent before it writes any
// reply, so a large batch makes its first client wait for the last one's
// read, and the other relays wait for the cache agent; the clients left
// over stay ready for the next epoll_wait, which also sees the ones that
// became ready meanwhile. (memcached's workers go further: each answers a
// ready client before reading the next.) Measured under bench/memcaslap.sh's
// load against a build taking 256, the two alternating in each round (what
// its SECURECACHED_BASELINE does), six rounds: 8 gave +4% (median; +0.6% to
// +6.1%), 16 no more than 256, 1 and 2 up to a fifth less (a message to the
// cache agent per client or two).
const loopBatch = 8

// relaySpin is how long a loop that finds no client ready keeps polling
// (yielding its processor between polls) before it sleeps in epoll_wait.
// It has just written a batch of replies, and those clients answer within
// microseconds; a loop asleep by then must be woken, and the wake-up is
// paid by the client whose request wakes it as well as by the relay. Under
// bench/memcaslap.sh's load the machine's idle CPU per operation fell from
// about 0.9 to 0.1 µs, and throughput rose 5% (median of 7 rounds against
// the build before, SECURECACHED_BASELINE). A sweep in alternating rounds
// then found 2, 5, 10 and 20 µs all beat sleeping at once, 5 by the most,
// and polling once without yielding did not. Measured again on a shared,
// loaded machine (bench/RESULTS.md, "issue 19: CPU per op"), the spin still
// pays for itself against none, but 2 µs beat 5: when other processes hold
// the cores a client's answer comes later, and a longer spin mostly burns
// a core the client could use.
const relaySpin = 2 * time.Microsecond

// epollAvailable says the epoll relay can run here.
const epollAvailable = true

// relayConn is one client on the epoll relay: its sockets, and its relay
// state machine, which decides everything else. Touched only under the
// gateway's baton.
type relayConn struct {
	fd       int    // the client's kernel socket (non-blocking)
	gen      uint32 // tells this client from an earlier one on the same fd (lookup)
	dfd      int    // the Diggi socket to the cache agent
	r        relay
	rev, wev posix.Event
	revOn    bool      // rev is pending
	wevOn    bool      // wev is pending
	inEpoll  bool      // fd is in the epoll set (from connect on)
	interest uint32    // fd's epoll interest
	active   time.Time // last read from the client; kept only with idle_timeout
	slot     *slot     // the client's -c slot, released by close
}

type epollRelay struct {
	g     *Agent
	epfd  int
	wake  int // eventfd in the epoll set: Stop wakes a blocked epoll_wait with it
	buf   []byte
	conns map[int]*relayConn // by kernel fd
	gen   uint32             // the last relayConn.gen handed out

	plain     *plainWriter
	out       replyWriter // plain, or a ringWriter while the kernel's io_uring works
	scheduled bool        // a flush task is queued
	flushFn   func()
}

func (g *Agent) startEpoll() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		syscall.Close(epfd)
		return fmt.Errorf("eventfd: %w", err)
	}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, wake, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(wake)}); err != nil {
		syscall.Close(epfd)
		syscall.Close(wake)
		return fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	e := &epollRelay{g: g, epfd: epfd, wake: wake, buf: make([]byte, relayBufSize), conns: map[int]*relayConn{}}
	e.flushFn = e.flushTask
	e.plain = newPlainWriter(e.settle)
	e.out = e.plain
	if batchReplies {
		if w, err := newRingWriter(e.settle); err == nil {
			e.out = w
		} else {
			g.ctx.Log().Info("io_uring unavailable: replies are written one at a time", "err", err)
		}
	}
	g.epoll = e
	g.wg.Add(1)
	go e.loop()
	return nil
}

// loop waits for ready clients and serves each batch under the baton. It
// ends when Stop wakes it through the eventfd.
func (e *epollRelay) loop() {
	defer e.g.wg.Done()
	events := make([]syscall.EpollEvent, loopBatch)
	for {
		n, err := e.wait(events)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if e.g.stopping() {
			return
		}
		if err != nil {
			e.g.ctx.Log().Error("epoll_wait failed", "err", err)
			return
		}
		if !e.serve(events[:n]) {
			return
		}
	}
}

// wait returns the next batch of ready clients. The loop sleeps in its own
// epoll_wait, as each of memcached's workers does, and the kernel wakes
// it, not Go's poller (which would wake one thread to hand the loop to
// another). The blocked call gives up its processor after a moment (the
// runtime's sysmon), so the other goroutines run. Before it sleeps it
// polls for a moment (pollSpin).
func (e *epollRelay) wait(events []syscall.EpollEvent) (int, error) {
	n, err := pollSpin(e.epfd, events)
	if n == 0 && err == nil {
		n, err = syscall.EpollWait(e.epfd, events, -1)
	}
	return n, err
}

// serve moves a batch of ready clients' bytes under the baton, the
// batch's requests corked into one message to the cache agent, and then
// runs the cache agent's drain here (Held.Run). It reports false once the
// gateway's scheduler is closed.
func (e *epollRelay) serve(ready []syscall.EpollEvent) bool {
	msgs := e.g.ctx.Messages()
	var held diggi.Held
	if e.g.ctx.Scheduler().Run(func() {
		msgs.Hold()
		e.g.sys.Cork()
		for _, ev := range ready {
			if c := e.lookup(ev); c != nil {
				e.onClient(c, ev.Events)
			}
		}
		e.g.sys.Uncork()
		held = msgs.Release()
	}) != nil {
		return false
	}
	held.Run()
	return true
}

// epollEvent is the epoll registration of c: its fd and generation ride
// in the event's 64-bit data (Fd, Pad), for lookup.
func epollEvent(c *relayConn, interest uint32) *syscall.EpollEvent {
	return &syscall.EpollEvent{Events: interest, Fd: int32(c.fd), Pad: int32(c.gen)}
}

// lookup returns the client an event is for, or nil for a stale one. The
// loop collects events outside the baton and serves them under it, and in
// between a task may close a client and adopt another whose descriptor
// reuses the number; the old client's event (a hang-up, say) must not
// reach the new one, so the generation in the event must match too.
func (e *epollRelay) lookup(ev syscall.EpollEvent) *relayConn {
	c, ok := e.conns[int(ev.Fd)]
	if !ok || c.gen != uint32(ev.Pad) {
		return nil
	}
	return c
}

// handoff moves an accepted client from Go's poller to the relay: the
// descriptor is duplicated and Go's copy closed, so only epoll waits on it.
func (e *epollRelay) handoff(nc net.Conn, s *slot) {
	origin := originOf(nc)
	fd, err := dupFD(nc)
	nc.Close()
	if err != nil {
		e.g.ctx.Log().Warn("dup accepted socket", "err", err)
		s.release()
		return
	}
	if e.g.ctx.Scheduler().Schedule(func() { e.adopt(fd, origin, s) }) != nil {
		syscall.Close(fd)
		s.release()
	}
}

// adopt connects a new client to the cache agent (a task).
func (e *epollRelay) adopt(fd int, origin posix.Origin, s *slot) {
	g := e.g
	if g.stopping() {
		syscall.Close(fd)
		s.release()
		return
	}
	e.gen++ // wraps after 2^32 clients; a stale event is a batch old
	c := &relayConn{fd: fd, gen: e.gen, dfd: -1, active: time.Now(), slot: s}
	e.conns[fd] = c
	g.conns.Add(1)
	dfd, err := g.sys.Socket()
	if err != nil {
		e.fail(c, "socket", err)
		return
	}
	c.dfd = dfd
	if err := g.sys.SetNonblock(dfd, true); err != nil {
		e.fail(c, "nonblock", err)
		return
	}
	if err := g.sys.SetOrigin(dfd, origin); err != nil {
		e.fail(c, "origin", err)
		return
	}
	g.sys.EventSet(&c.rev, dfd, posix.EvRead|posix.EvPersist, func(int, posix.EvFlags) { e.onCache(c) })
	g.sys.EventSet(&c.wev, dfd, posix.EvWrite|posix.EvPersist, func(int, posix.EvFlags) { e.onCacheWritable(c) })
	if err := g.sys.Connect(dfd, g.backend.ID, g.backendPort); err != nil && !errors.Is(err, syscall.EINPROGRESS) {
		e.fail(c, "connect", err)
		return
	}
	e.apply(c) // the relay wants the connect's completion: cache writable
}

func (e *epollRelay) fail(c *relayConn, op string, err error) {
	e.g.ctx.Log().Warn("connect to cache agent failed", "backend", e.g.gs.backend, "op", op, "err", err)
	e.close(c)
}

// apply makes c's events what its relay wants: EPOLLIN and EPOLLOUT on the
// client's socket, the read and write events on its Diggi socket. Every
// input to a relay is followed by apply, so a want is never left unarmed.
func (e *epollRelay) apply(c *relayConn) {
	if c.r.closed {
		return
	}
	w := c.r.want()
	sys := e.g.sys
	if w.cacheWritable != c.wevOn {
		c.wevOn = w.cacheWritable
		if !c.wevOn {
			sys.EventDel(&c.wev)
		} else if err := sys.EventAdd(&c.wev); err != nil {
			e.close(c)
			return
		}
	}
	if w.readCache != c.revOn {
		c.revOn = w.readCache
		if !c.revOn {
			sys.EventDel(&c.rev)
		} else if err := sys.EventAdd(&c.rev); err != nil {
			e.close(c)
			return
		}
	}
	if !c.r.connected {
		return
	}
	var interest uint32
	if w.readClient {
		interest |= syscall.EPOLLIN
	}
	if w.clientWritable {
		interest |= syscall.EPOLLOUT
	}
	if c.inEpoll && interest == c.interest {
		return
	}
	op := syscall.EPOLL_CTL_MOD
	if !c.inEpoll {
		op = syscall.EPOLL_CTL_ADD
	}
	if err := syscall.EpollCtl(e.epfd, op, c.fd, epollEvent(c, interest)); err != nil {
		e.close(c)
		return
	}
	c.inEpoll, c.interest = true, interest
}

// onCacheWritable completes the connect, or writes bytes held back by the
// cache agent's window.
func (e *epollRelay) onCacheWritable(c *relayConn) {
	if c.r.closed {
		return
	}
	if !c.r.connected {
		ev := e.g.sys.PollFD(c.dfd)
		if ev&posix.PollErr != 0 {
			e.fail(c, "connect", syscall.ECONNREFUSED)
			return
		}
		if ev&posix.PollOut == 0 {
			return
		}
		c.r.connect()
		e.apply(c)
		return
	}
	e.toCache(c)
}

// toCache writes what c's relay has for the cache agent, and passes the
// client's half-close on once it has.
func (e *epollRelay) toCache(c *relayConn) {
	if p := c.r.toCache(); len(p) > 0 {
		n, err := e.g.sys.Write(c.dfd, p)
		if err != nil && !errors.Is(err, syscall.EAGAIN) {
			e.close(c)
			return
		}
		c.r.cacheTook(max(n, 0))
	}
	if c.r.shutCache() {
		e.g.sys.Shutdown(c.dfd, syscall.SHUT_WR)
	}
	e.apply(c)
}

// onClient handles epoll readiness for a client.
func (e *epollRelay) onClient(c *relayConn, ev uint32) {
	if ev&syscall.EPOLLOUT != 0 && c.r.want().clientWritable {
		e.plain.send(c, c.r.toClient())
		if c.r.closed {
			return
		}
	}
	if ev&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) == 0 {
		return
	}
	if !c.r.want().readClient {
		// Not reading (window full or half-closed), yet hung up or in
		// error: the client is gone.
		if ev&(syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
			e.close(c)
		}
		return
	}
	e.fromClient(c)
}

// fromClient moves what the client sent into the Diggi socket.
func (e *epollRelay) fromClient(c *relayConn) {
	g := e.g
	n, err := rawRead(c.fd, e.buf)
	switch {
	case n > 0:
		if g.gs.idleTimeout > 0 {
			c.active = time.Now()
		}
		p := e.buf[:n]
		if g.hooks.Tap != nil {
			g.hooks.Tap(ToCache, p)
		}
		c.r.fromClient(p)
		e.toCache(c) // before e.buf is read into again
	case n == 0:
		// Half-close: memcached answers what it already has, then closes.
		c.r.clientEOF()
		e.toCache(c)
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
	default:
		e.close(c)
	}
}

// onCache reads the cache agent's reply and gives it to the writer (read
// event task).
func (e *epollRelay) onCache(c *relayConn) {
	if c.r.inFlight {
		e.flush() // settle c's last reply before reading the next
	}
	if !c.r.want().readCache {
		return
	}
	buf := e.out.room()
	if buf == nil {
		e.flush()
		if !c.r.want().readCache {
			return
		}
		buf = e.out.room()
	}
	g := e.g
	n, err := g.sys.Read(c.dfd, buf)
	if n > 0 {
		p := buf[:n]
		if g.hooks.Tap != nil {
			g.hooks.Tap(ToClient, p)
		}
		c.r.fromCache(p)
		if e.out.send(c, c.r.toClient()) && !e.scheduled {
			// A task behind the burst's other read events sends them all.
			if g.ctx.Scheduler().Schedule(e.flushFn) == nil {
				e.scheduled = true
			} else {
				e.flush()
			}
		}
		return
	}
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		// The cache agent closed (quit, protocol error, shutdown): close
		// the client outright, as memcached does.
		if c.r.cacheEOF() {
			e.closed(c)
		}
	}
}

func (e *epollRelay) flushTask() {
	e.scheduled = false
	e.flush()
}

// flush sends the writer's queued replies; a writer that breaks is
// replaced by the plain one (its replies were settled unsent, and go out
// when their clients' sockets report room).
func (e *epollRelay) flush() {
	if err := e.out.flush(); err != nil {
		e.g.ctx.Log().Warn("batched reply writes failed; writing one at a time", "err", err)
		e.out.close()
		e.out = e.plain
	}
}

// settle reports a reply's outcome to its relay (see settleFunc). A flush
// runs no other task (a Diggi socket's Close never hands the baton away),
// so no flush starts inside another.
func (e *epollRelay) settle(c *relayConn, n int, err error) {
	if c.r.closed {
		return
	}
	c.r.clientTook(max(n, 0))
	switch {
	case err == nil, errors.Is(err, syscall.EAGAIN),
		// Not sent at all (EINVAL: a kernel whose ring lacks this
		// operation): the rest goes out when the socket has room.
		errors.Is(err, uring.ErrNotSent), errors.Is(err, syscall.EINVAL):
		e.apply(c)
	default:
		e.close(c) // the client is gone
	}
}

// close closes c, once: its relay decides (relay.close).
func (e *epollRelay) close(c *relayConn) {
	if c.r.close() {
		e.closed(c)
	}
}

// closed releases what c holds, after its relay closed.
func (e *epollRelay) closed(c *relayConn) {
	g := e.g
	if c.dfd >= 0 {
		g.sys.EventDel(&c.rev)
		g.sys.EventDel(&c.wev)
		g.sys.Close(c.dfd)
	}
	if c.inEpoll {
		syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	}
	syscall.Close(c.fd)
	delete(e.conns, c.fd)
	g.conns.Add(-1)
	c.slot.release()
}

// closeIdle closes clients silent for longer than idle_timeout (a timer
// task); a client we are still writing to is not idle.
func (e *epollRelay) closeIdle(now time.Time) {
	limit := now.Add(-e.g.gs.idleTimeout)
	for _, c := range e.conns {
		if c.active.Before(limit) && c.r.idle() {
			e.g.idleKicks.Add(1)
			e.close(c)
		}
	}
}

// clients counts the clients the relay serves (under the baton).
func (e *epollRelay) clients() int { return len(e.conns) }

// closeAll closes every client (Stop, under the baton) and ends the loop.
func (e *epollRelay) closeAll() {
	e.flush()
	e.out.close()
	e.out = e.plain
	for _, c := range e.conns {
		e.close(c)
	}
	// Any non-zero count makes the eventfd readable, whatever the byte
	// order: the loop wakes, sees done and returns. The descriptors stay
	// open until it has (closeFDs): closing epfd would not wake a blocked
	// epoll_wait, and its number could be reused under the loop.
	unix.Write(e.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
}

// closeFDs closes the epoll and wake descriptors once the loop has ended.
func (e *epollRelay) closeFDs() {
	syscall.Close(e.epfd)
	syscall.Close(e.wake)
}
