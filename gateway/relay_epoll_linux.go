//go:build linux

package gateway

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/posix"
	"github.com/securecached/securecached/internal/uring"
)

// The epoll relay serves kernel sockets from one event loop goroutine and
// the gateway agent's own tasks, instead of two goroutines per client.
// The loop waits in epoll_wait without the baton, then takes it once for
// the whole batch of ready sockets (Scheduler.Run) and moves what each
// returned into its Diggi socket: one message per read, and many clients
// per baton hand-over. Replies come back as posix read events, whose
// callbacks queue them, and a task behind those events sends them all to
// their clients in one system call (flush). Back-pressure: while a
// Diggi socket's window is full the client is not read (EPOLLIN off);
// while a client's socket is full its Diggi socket is not read (read event
// off), which closes the cache agent's window in turn.

// holdBatch is the largest batch of ready clients the loop serves to
// completion itself (see loop). Measured with memcaslap (64 connections)
// and scbench compare (4 closed-loop clients): serving every batch here
// cost a fifth of the throughput under memcaslap, serving none added a
// third to the latency of the closed-loop clients; 4 keeps both.
const holdBatch = 4

// groupBatch is the most ready clients one of several relays takes from
// epoll_wait at a time. It carries each batch through the cache agent
// before it writes any reply, so a large batch makes its first client wait
// for the last one's read, and the other relay wait for the cache agent;
// the clients left over stay ready for the next epoll_wait, which also
// sees the ones that became ready meanwhile. (memcached's workers go
// further: each answers a ready client before reading the next.) Measured
// under bench/memcaslap.sh's load against a build taking 256, the two
// alternating in each round (what its SECURECACHED_BASELINE does), six
// rounds: 8 gave +4% (median; +0.6% to +6.1%), 16 no more than 256, 1 and
// 2 up to a fifth less (a message to the cache agent per client or two).
const groupBatch = 8

// batchReplies sends the replies of a burst together (package uring) where
// the kernel allows it. Tests turn it off to cover the path that runs
// where it does not (io_uring disabled, or filtered as container runtimes
// do by default): one write(2) per reply.
var batchReplies = true

// closeBlocks, set by a test, makes close hand the baton off for a moment
// after it closes the Diggi socket, as it does when the FIN has to wait for
// room on the way to the cache agent.
var closeBlocks = false

// replyBatch is the most replies one flush sends, and replyArena the
// bytes they may take; minReplyRoom is the least room left in the arena
// for reading another reply into it.
const (
	replyBatch   = 64
	replyArena   = 4 * relayBufSize
	minReplyRoom = 4 << 10
)

// relaySpin is how long one of several relays that finds no client ready
// keeps polling (yielding its processor between polls) before it sleeps
// in epoll_wait. It has just written a batch of replies, and those clients
// answer within microseconds; a relay asleep by then must be woken, and
// the wake-up is paid by the client whose request wakes it as well as by
// the relay. Under bench/memcaslap.sh's load the machine's idle CPU per
// operation fell from about 0.9 to 0.1 µs, and throughput rose 5% (median
// of 7 rounds against the build before, SECURECACHED_BASELINE). The value
// comes from a sweep in alternating rounds: 2, 5, 10 and 20 µs all beat
// sleeping at once, 5 by the most; polling once without yielding did not.
const relaySpin = 5 * time.Microsecond

// epollAvailable says the epoll relay can run here.
const epollAvailable = true

// relayConn is one client on the epoll relay; touched only under the baton.
type relayConn struct {
	fd        int // the client's kernel socket (non-blocking)
	dfd       int // the Diggi socket to the cache agent
	rev, wev  posix.Event
	up        []byte // client bytes the cache agent's window has not taken yet
	down      []byte // cache bytes the client's socket has not taken yet
	interest  uint32 // current epoll interest
	connected bool
	rdClosed  bool // the client half-closed
	closed    bool
	active    time.Time // last read from the client; kept only with idle_timeout
	reply     []byte    // the client's next reply, in the relay's arena, until flush sends it
}

type epollRelay struct {
	g     *Agent
	epfd  int
	file  *os.File // epfd registered with Go's poller
	wake  int      // eventfd in the epoll set: Stop wakes a blocked epoll_wait with it
	buf   []byte
	conns map[int]*relayConn // by kernel fd

	// Replies leave in batches (see package uring) when ring is set: a
	// reply is read into arena and its client queued, and a task queued
	// behind the burst's other read events (flushFn) sends them all.
	ring      *uring.Ring
	arena     []byte
	used      int
	replies   []*relayConn // queued, in order
	sending   []*relayConn // given to the ring, by its index
	scheduled bool         // a flush task is queued
	flushFn   func()
	maxFlush  int // the most replies one submission carried, for tests
}

func (g *Agent) startEpoll() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	// The loop waits for the epoll descriptor to become readable through
	// Go's own poller, never in a blocking epoll_wait: a goroutine blocked
	// in a system call keeps its P until sysmon notices, which with -t 2
	// halves the processors serving everything else.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return fmt.Errorf("epoll nonblock: %w", err)
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
	e := &epollRelay{g: g, epfd: epfd, file: os.NewFile(uintptr(epfd), "epoll"), wake: wake, buf: make([]byte, relayBufSize), conns: map[int]*relayConn{}}
	e.flushFn = e.flushTask
	if batchReplies {
		if ring, err := uring.New(replyBatch); err == nil {
			e.ring = ring
			e.arena = make([]byte, replyArena)
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
// ends when Stop closes the epoll file.
func (e *epollRelay) loop() {
	defer e.g.wg.Done()
	rc, err := e.file.SyscallConn()
	if err != nil {
		e.g.ctx.Log().Error("epoll descriptor", "err", err)
		return
	}
	events := make([]syscall.EpollEvent, 256)
	sched := e.g.ctx.Scheduler()
	msgs := e.g.ctx.Messages()
	for {
		var n int
		var werr error
		several := e.g.grp.size.Load() > 1
		if several {
			// One of several relays sleeps in its own epoll_wait, as each
			// of memcached's workers does, and the kernel wakes it, not
			// Go's poller (which would wake one thread to hand the loop to
			// another). The blocked call gives up its processor after a
			// moment (the runtime's sysmon), so the other goroutines run.
			// At Stop the eventfd wakes it and the check below ends the
			// loop. Before it sleeps it polls for a moment (pollSpin).
			n, werr = pollSpin(e.epfd, events[:groupBatch])
			if n == 0 && werr == nil {
				n, werr = syscall.EpollWait(e.epfd, events[:groupBatch], -1)
			}
			if errors.Is(werr, syscall.EINTR) {
				continue
			}
		} else {
			err := rc.Read(func(fd uintptr) bool {
				n, werr = syscall.EpollWait(int(fd), events, 0)
				return n > 0 || (werr != nil && !errors.Is(werr, syscall.EINTR))
			})
			if err != nil {
				return // the poller failed
			}
		}
		if e.g.stopping() {
			return
		}
		if werr != nil {
			e.g.ctx.Log().Error("epoll_wait failed", "err", werr)
			return
		}
		// A small batch is served to completion on this goroutine, replies
		// included (diggi's Hold and Held.Deliver): no worker wake-ups, so
		// the latency of a lightly loaded server is memcached's. A larger
		// batch means requests are queueing: a lone relay hands it to the
		// cache agent's worker, which then runs beside this loop on the
		// other processor. One of several relays (a group) serves every
		// batch to completion, waiting its turn for the cache agent
		// (Held.Complete): the other relays are what runs beside it.
		hold := several || n <= holdBatch
		var held diggi.Held
		if sched.Run(func() {
			// The batch's requests reach the cache agent as one message.
			if hold {
				msgs.Hold()
			}
			e.g.sys.Cork()
			for i := 0; i < n; i++ {
				if c, ok := e.conns[int(events[i].Fd)]; ok {
					e.onClient(c, events[i].Events)
				}
			}
			e.g.sys.Uncork()
			if hold {
				held = msgs.Release()
			}
		}) != nil {
			return
		}
		if several {
			held.Complete()
		} else {
			held.Deliver()
		}
	}
}

// handoff moves an accepted client from Go's poller to the relay: the
// descriptor is duplicated and Go's copy closed, so only epoll waits on it.
func (e *epollRelay) handoff(nc net.Conn) {
	origin := originOf(nc)
	fd, err := dupFD(nc)
	nc.Close()
	if err != nil {
		e.g.ctx.Log().Warn("dup accepted socket", "err", err)
		<-e.g.grp.slots
		return
	}
	if e.g.ctx.Scheduler().Schedule(func() { e.adopt(fd, origin) }) != nil {
		syscall.Close(fd)
		<-e.g.grp.slots
	}
}

// adopt connects a new client to the cache agent (a task).
func (e *epollRelay) adopt(fd int, origin posix.Origin) {
	g := e.g
	if g.stopping() {
		syscall.Close(fd)
		<-g.grp.slots
		return
	}
	c := &relayConn{fd: fd, dfd: -1, active: time.Now()}
	e.conns[fd] = c
	g.grp.conns.Add(1)
	g.grp.total.Add(1)
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
	if err := g.sys.EventAdd(&c.wev); err != nil {
		e.fail(c, "event_add", err)
	}
}

func (e *epollRelay) fail(c *relayConn, op string, err error) {
	e.g.ctx.Log().Warn("connect to cache agent failed", "backend", e.g.gs.backend, "op", op, "err", err)
	e.close(c)
}

// onCacheWritable completes the connect, or drains bytes held back by the
// cache agent's window.
func (e *epollRelay) onCacheWritable(c *relayConn) {
	if c.closed {
		return
	}
	sys := e.g.sys
	if !c.connected {
		ev := sys.PollFD(c.dfd)
		if ev&posix.PollErr != 0 {
			e.fail(c, "connect", syscall.ECONNREFUSED)
			return
		}
		if ev&posix.PollOut == 0 {
			return
		}
		c.connected = true
		sys.EventDel(&c.wev)
		ev2 := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(c.fd)}
		if err := syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev2); err != nil {
			e.fail(c, "epoll_ctl add", err)
			return
		}
		c.interest = syscall.EPOLLIN
		if err := sys.EventAdd(&c.rev); err != nil {
			e.close(c)
		}
		return
	}
	for len(c.up) > 0 {
		n, err := sys.Write(c.dfd, c.up)
		c.up = c.up[n:]
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				return
			}
			e.close(c)
			return
		}
	}
	c.up = nil
	sys.EventDel(&c.wev)
	if c.rdClosed {
		sys.Shutdown(c.dfd, syscall.SHUT_WR)
	}
	e.setInterest(c)
}

// onClient handles epoll readiness for a client.
func (e *epollRelay) onClient(c *relayConn, ev uint32) {
	if ev&syscall.EPOLLOUT != 0 && len(c.down) > 0 {
		e.writeDown(c)
		if c.closed {
			return
		}
	}
	if ev&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) == 0 {
		return
	}
	if c.interest&syscall.EPOLLIN == 0 {
		// Not reading (window full or half-closed), yet hung up or in
		// error: the client is gone.
		if ev&(syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
			e.close(c)
		}
		return
	}
	e.readUp(c)
}

// readUp moves what the client sent into the Diggi socket.
func (e *epollRelay) readUp(c *relayConn) {
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
		w, werr := g.sys.Write(c.dfd, p)
		if werr != nil && !errors.Is(werr, syscall.EAGAIN) {
			e.close(c)
			return
		}
		if w < n {
			c.up = append([]byte(nil), p[w:]...)
			if err := g.sys.EventAdd(&c.wev); err != nil {
				e.close(c)
				return
			}
			e.setInterest(c)
		}
	case n == 0:
		// Half-close: memcached answers what it already has, then closes.
		c.rdClosed = true
		if len(c.up) == 0 {
			g.sys.Shutdown(c.dfd, syscall.SHUT_WR)
		}
		e.setInterest(c)
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
	default:
		e.close(c)
	}
}

// onCache moves the cache agent's reply to the client (read event task):
// with the ring, into the arena and the flush's queue; without it, straight
// to the client's socket.
func (e *epollRelay) onCache(c *relayConn) {
	if c.closed || len(c.down) > 0 {
		return
	}
	// With the ring, a client has at most one reply in a flush, and the
	// arena and the ring must have room: flush until they do. A loop,
	// because a flush can let other tasks run (see flush), which may queue
	// replies again.
	for e.ring != nil && (c.reply != nil || len(e.arena)-e.used < minReplyRoom || len(e.replies) == e.ring.Entries()) {
		e.flush()
		if c.closed || len(c.down) > 0 {
			return
		}
	}
	batched := e.ring != nil
	buf := e.buf
	if batched {
		buf = e.arena[e.used:]
	}
	g := e.g
	n, err := g.sys.Read(c.dfd, buf)
	if n > 0 {
		p := buf[:n]
		if g.hooks.Tap != nil {
			g.hooks.Tap(ToClient, p)
		}
		if batched {
			e.queueReply(c, p)
		} else {
			e.writeOut(c, p)
		}
		return
	}
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		// The cache agent closed (quit, protocol error, shutdown): close
		// the client outright, as memcached does.
		e.close(c)
	}
}

// queueReply queues c's reply p, just read into the arena, for flush, and
// makes sure a flush task follows the burst's other read events.
func (e *epollRelay) queueReply(c *relayConn, p []byte) {
	c.reply = p
	e.used += len(p)
	e.replies = append(e.replies, c)
	if e.scheduled {
		return
	}
	if e.g.ctx.Scheduler().Schedule(e.flushFn) == nil {
		e.scheduled = true
	} else {
		e.flush()
	}
}

func (e *epollRelay) flushTask() {
	e.scheduled = false
	e.flush()
}

// flush sends the queued replies in one system call.
//
// It works in two passes. Closing a client can hand the baton off (its FIN
// may wait for room on the way to the cache agent), and another flush
// could then run inside this one. So the first pass only does
// bookkeeping: it copies what a client's socket did not take into c.down.
// The second pass deals with those clients once the ring, the arena and
// the lists are free again.
func (e *epollRelay) flush() {
	if len(e.replies) == 0 {
		return
	}
	var after []followUp // rare: a send came up short or failed
	var err error
	for _, c := range e.replies {
		if c.closed {
			c.reply = nil
			continue
		}
		if e.ring != nil {
			serr := e.ring.Send(c.fd, c.reply)
			if serr == nil {
				e.sending = append(e.sending, c)
				continue
			}
			// The ring was closed, or is full (which onCache prevents):
			// write it the old way, and stop using the ring.
			err = serr
		}
		after = append(after, e.settle(c, 0, uring.ErrNotSent))
	}
	clear(e.replies)
	e.replies = e.replies[:0]
	if len(e.sending) > 0 {
		e.maxFlush = max(e.maxFlush, len(e.sending))
		if serr := e.ring.Submit(func(i, n int, serr error) {
			if f := e.settle(e.sending[i], n, serr); f.c != nil {
				after = append(after, f)
			}
		}); serr != nil {
			err = serr
		}
	}
	clear(e.sending)
	e.sending = e.sending[:0]
	e.used = 0
	if err != nil && e.ring != nil {
		e.g.ctx.Log().Warn("batched reply writes failed; writing one at a time", "err", err)
		e.dropRing()
	}
	for _, f := range after {
		c := f.c
		switch {
		case c.closed:
		case f.close:
			e.close(c)
		case f.retry:
			// Not sent at all: write it the old way.
			p := c.down
			c.down = nil
			e.writeOut(c, p)
		default:
			e.awaitRoom(c)
		}
	}
}

// dropRing goes back to one write(2) per reply for good.
func (e *epollRelay) dropRing() {
	e.ring.Close()
	e.ring, e.arena = nil, nil
}

// followUp is what flush still has to do for a client after a send.
type followUp struct {
	c     *relayConn
	close bool // the send failed: the client is gone
	retry bool // the ring did not send it (c.down holds the reply)
}

// settle records a send of c's reply (n bytes, or err) and returns what is
// left to do; a zero followUp means nothing. It only does bookkeeping.
func (e *epollRelay) settle(c *relayConn, n int, err error) followUp {
	rest := c.reply[n:]
	c.reply = nil
	f := followUp{c: c}
	switch {
	case err == nil && len(rest) == 0:
		return followUp{}
	case err == nil || errors.Is(err, syscall.EAGAIN):
	case errors.Is(err, uring.ErrNotSent), errors.Is(err, syscall.EINVAL):
		// EINVAL: a kernel whose ring lacks this operation.
		f.retry = true
	default:
		f.close = true
		return f
	}
	c.down = append(c.down[:0], rest...)
	return f
}

// writeOut writes p to the client, keeping what its socket does not take.
func (e *epollRelay) writeOut(c *relayConn, p []byte) {
	for len(p) > 0 {
		w, werr := rawWrite(c.fd, p)
		if w > 0 {
			p = p[w:]
			continue
		}
		if errors.Is(werr, syscall.EINTR) {
			continue
		}
		if errors.Is(werr, syscall.EAGAIN) {
			e.holdBack(c, p)
			return
		}
		e.close(c)
		return
	}
}

// holdBack keeps reply bytes the client's socket had no room for.
func (e *epollRelay) holdBack(c *relayConn, rest []byte) {
	c.down = append(c.down[:0], rest...)
	e.awaitRoom(c)
}

// awaitRoom stops reading the cache agent for c, whose held-back bytes
// wait in c.down, until writeDown has sent them.
func (e *epollRelay) awaitRoom(c *relayConn) {
	e.g.sys.EventDel(&c.rev)
	e.setInterest(c)
}

// writeDown drains held-back reply bytes once the client's socket has room.
func (e *epollRelay) writeDown(c *relayConn) {
	for len(c.down) > 0 {
		w, err := rawWrite(c.fd, c.down)
		if w > 0 {
			c.down = c.down[w:]
			continue
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			return
		}
		e.close(c)
		return
	}
	c.down = nil
	if err := e.g.sys.EventAdd(&c.rev); err != nil {
		e.close(c)
		return
	}
	e.setInterest(c)
}

// setInterest tells epoll what the client's state needs.
func (e *epollRelay) setInterest(c *relayConn) {
	var want uint32
	if c.connected && len(c.up) == 0 && !c.rdClosed {
		want |= syscall.EPOLLIN
	}
	if len(c.down) > 0 {
		want |= syscall.EPOLLOUT
	}
	if want == c.interest {
		return
	}
	ev := syscall.EpollEvent{Events: want, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
		e.close(c)
		return
	}
	c.interest = want
}

func (e *epollRelay) close(c *relayConn) {
	if c.closed {
		return
	}
	c.closed = true
	g := e.g
	if c.dfd >= 0 {
		g.sys.EventDel(&c.rev)
		g.sys.EventDel(&c.wev)
		g.sys.Close(c.dfd)
		if closeBlocks {
			g.ctx.Scheduler().Block(func() { time.Sleep(2 * time.Millisecond) })
		}
	}
	if c.connected {
		syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	}
	syscall.Close(c.fd)
	delete(e.conns, c.fd)
	g.grp.conns.Add(-1)
	<-g.grp.slots
}

// closeIdle closes clients silent for longer than idle_timeout (a timer
// task); a client we are still writing to is not idle.
func (e *epollRelay) closeIdle(now time.Time) {
	limit := now.Add(-e.g.gs.idleTimeout)
	for _, c := range e.conns {
		if c.active.Before(limit) && len(c.down) == 0 && c.reply == nil {
			e.g.grp.idleKicks.Add(1)
			e.close(c)
		}
	}
}

// clients counts the clients the relay serves (under the baton).
func (e *epollRelay) clients() int { return len(e.conns) }

// closeAll closes every client (Stop, under the baton) and ends the loop.
func (e *epollRelay) closeAll() {
	if e.ring != nil {
		e.flush()
		e.dropRing()
	}
	for _, c := range e.conns {
		e.close(c)
	}
	// Any non-zero count makes the eventfd readable, whatever the byte
	// order: the loop wakes, in epoll_wait or Go's poller, sees done and
	// returns. The descriptors stay open until it has (closeFDs): closing
	// epfd would not wake a blocked epoll_wait, and its number could be
	// reused under the loop.
	unix.Write(e.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
}

// closeFDs closes the epoll and wake descriptors once the loop has ended.
func (e *epollRelay) closeFDs() {
	e.file.Close()
	syscall.Close(e.wake)
}

// dupFD returns a close-on-exec duplicate of the connection's descriptor; it
// shares the original's non-blocking mode.
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
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, orig, syscall.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			derr = errno
			return
		}
		fd = int(r)
	}); err != nil {
		return -1, err
	}
	return fd, derr
}

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

// rawRead and rawWrite skip the Go scheduler's syscall bookkeeping: the
// sockets are non-blocking, so these calls never wait in the kernel.
func rawRead(fd int, p []byte) (int, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
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
