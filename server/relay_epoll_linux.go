package server

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The epoll relay serves kernel sockets from a few event loops (one per -t
// thread, like memcached's worker threads) instead of a goroutine per
// client. Go's netpoller is edge-triggered: a goroutine that has answered a
// request must try another read, usually get EAGAIN, and park, which costs a
// syscall and a scheduler round trip per request. A level-triggered epoll
// loop reads only sockets the kernel reported ready, so a request costs a
// read and a write, as in memcached. The loops still only move bytes: all
// protocol work happens in the cache agent's Sessions.

// epollAvailable says the epoll relay can run here.
const epollAvailable = true

// epollLoop serves a share of the clients.
type epollLoop struct {
	s      *Server
	epfd   int
	wakefd int    // eventfd: new clients, shutdown
	buf    []byte // read buffer shared by the loop's clients (Input copies)

	mu       sync.Mutex // guards incoming and closed
	incoming []*epollConn
	closed   bool // the loop has shut down; adopt closes newcomers itself

	conns   map[int]*epollConn // by fd; loop goroutine only
	yielded []*epollConn       // stopped at -R with input left; resumed after this round
}

type epollConn struct {
	fd      int
	c       *client
	loop    *epollLoop // nil once closed
	writing bool       // output pending: waiting for EPOLLOUT, not reading
	more    bool       // yielded at -R
	active  int64      // unix nanoseconds of the last read, for idle_timeout
}

func newEpollLoop(s *Server) (*epollLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	r, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return nil, fmt.Errorf("eventfd2: %w", errno)
	}
	l := &epollLoop{s: s, epfd: epfd, wakefd: int(r), buf: make([]byte, readBufSize), conns: map[int]*epollConn{}}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wakefd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakefd, &ev); err != nil {
		l.release()
		return nil, fmt.Errorf("epoll_ctl eventfd: %w", err)
	}
	return l, nil
}

func (l *epollLoop) release() {
	syscall.Close(l.wakefd)
	syscall.Close(l.epfd)
}

// wake interrupts epoll_wait (new clients, shutdown).
func (l *epollLoop) wake() {
	one := [8]byte{1}
	syscall.Write(l.wakefd, one[:])
}

// adopt hands a freshly accepted client to the loop (any goroutine). A
// client that arrives after the loop shut down is closed here.
func (l *epollLoop) adopt(ec *epollConn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		ec.loop = nil
		ec.c.sess.Close()
		syscall.Close(ec.fd)
		l.s.unregister(ec.c)
		return
	}
	l.incoming = append(l.incoming, ec)
	l.mu.Unlock()
	l.wake()
}

// run serves until shutdown, then closes its clients. The loop's
// descriptors outlive it: Serve releases them once nothing can wake the loop.
func (l *epollLoop) run() {
	defer l.s.wg.Done()
	events := make([]syscall.EpollEvent, 128)
	idle := l.s.set.Extended.IdleTimeout
	nextIdleCheck := time.Now().Add(time.Second)
	for {
		if l.stopping() {
			l.shutdown()
			return
		}
		timeout := -1
		if idle > 0 {
			timeout = 1000
		}
		if len(l.yielded) > 0 {
			timeout = 0
		}
		n, err := syscall.EpollWait(l.epfd, events, timeout)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			l.s.log.warn("epoll_wait failed", err)
			l.shutdown()
			return
		}
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == l.wakefd {
				var b [8]byte
				syscall.Read(l.wakefd, b[:])
				if l.stopping() {
					l.shutdown()
					return
				}
				l.takeIncoming()
				continue
			}
			ec, ok := l.conns[fd]
			if !ok {
				continue
			}
			if ec.writing {
				l.flush(ec, ec.more)
			} else if !ec.more {
				l.readable(ec)
			}
		}
		if len(l.yielded) > 0 {
			l.resumeYielded()
		}
		if idle > 0 {
			if now := time.Now(); now.After(nextIdleCheck) {
				l.closeIdle(now, idle)
				nextIdleCheck = now.Add(time.Second)
			}
		}
	}
}

func (l *epollLoop) stopping() bool {
	select {
	case <-l.s.done:
		return true
	default:
		return false
	}
}

func (l *epollLoop) takeIncoming() {
	l.mu.Lock()
	in := l.incoming
	l.incoming = nil
	l.mu.Unlock()
	now := time.Now().UnixNano()
	for _, ec := range in {
		ec.active = now
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(ec.fd)}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, ec.fd, &ev); err != nil {
			l.s.log.warn("epoll_ctl add", err)
			l.closeFD(ec)
			continue
		}
		l.conns[ec.fd] = ec
	}
}

// readable reads what the kernel said is there and hands it to the session.
func (l *epollLoop) readable(ec *epollConn) {
	n, err := rawRead(ec.fd, l.buf)
	if n > 0 {
		if l.s.set.Extended.IdleTimeout > 0 {
			ec.active = time.Now().UnixNano()
		}
		l.s.log.input(ec.c.id, l.buf[:n])
		l.flush(ec, ec.c.sess.Input(l.buf[:n]))
		return
	}
	if n < 0 && (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR)) {
		return // spurious; level-triggered epoll will say again
	}
	l.closeFD(ec) // EOF or error
}

// flush writes the session's output. A full socket buffer parks the client
// on EPOLLOUT (no reading meanwhile, so a client that does not read cannot
// make us buffer without bound); a yield at -R queues it behind the others.
func (l *epollLoop) flush(ec *epollConn, more bool) {
	for {
		out := ec.c.sess.Output()
		if len(out) == 0 {
			break
		}
		n, err := rawWrite(ec.fd, out)
		if n > 0 {
			ec.c.sess.Sent(n)
			continue
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			ec.more = more
			l.setWriting(ec, true)
			return
		}
		l.closeFD(ec)
		return
	}
	if ec.writing {
		l.setWriting(ec, false)
	}
	if ec.c.sess.Closed() {
		l.closeFD(ec)
		return
	}
	ec.more = more
	if more {
		l.yielded = append(l.yielded, ec)
	}
}

func (l *epollLoop) setWriting(ec *epollConn, writing bool) {
	if ec.writing == writing {
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(ec.fd)}
	if writing {
		ev.Events = syscall.EPOLLOUT
	}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, ec.fd, &ev); err != nil {
		l.s.log.warn("epoll_ctl mod", err)
	}
	ec.writing = writing
}

// resumeYielded continues the clients that stopped at -R, after every other
// ready client had its turn (memcached's conn_yields).
func (l *epollLoop) resumeYielded() {
	ys := l.yielded
	l.yielded = nil
	for _, ec := range ys {
		if ec.loop == nil || ec.writing {
			continue // closed meanwhile (its fd number may be reused), or blocked on output
		}
		l.flush(ec, ec.c.sess.Resume())
	}
}

func (l *epollLoop) closeIdle(now time.Time, idle time.Duration) {
	limit := now.Add(-idle).UnixNano()
	for _, ec := range l.conns {
		if ec.active < limit && !ec.writing {
			l.s.log.idleClose(ec.c.id)
			l.closeFD(ec)
		}
	}
}

func (l *epollLoop) closeFD(ec *epollConn) {
	if cur, ok := l.conns[ec.fd]; ok && cur == ec {
		syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, ec.fd, nil)
		delete(l.conns, ec.fd)
	}
	ec.loop = nil
	ec.c.sess.Close()
	syscall.Close(ec.fd)
	l.s.unregister(ec.c)
}

// shutdown closes every client of the loop, including ones handed over but
// not yet adopted, and makes later handovers close themselves.
func (l *epollLoop) shutdown() {
	l.mu.Lock()
	in := l.incoming
	l.incoming, l.closed = nil, true
	l.mu.Unlock()
	for _, ec := range in {
		l.closeFD(ec)
	}
	for _, ec := range l.conns {
		l.closeFD(ec)
	}
}

// epollHandoff moves an accepted connection from Go's poller to a loop: it
// duplicates the descriptor and closes Go's copy (which also removes it from
// Go's epoll set), so only the loop ever waits on the socket.
func (s *Server) epollHandoff(loops []*epollLoop) func(nc net.Conn) {
	var next atomic.Uint64
	return func(nc net.Conn) {
		fd, err := dupFD(nc)
		local, remote := addrString(nc.LocalAddr()), addrString(nc.RemoteAddr())
		nc.Close()
		if err != nil {
			s.log.warn("dup accepted socket", err)
			<-s.slots
			return
		}
		c := &client{id: s.nextID.Add(1), sess: s.cache.NewSession(), remote: remote, local: local}
		if !s.register(c) {
			c.sess.Close()
			syscall.Close(fd)
			<-s.slots
			return
		}
		s.log.connNew(c.id)
		loop := loops[next.Add(1)%uint64(len(loops))]
		loop.adopt(&epollConn{fd: fd, c: c, loop: loop})
	}
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

// rawRead and rawWrite skip the Go scheduler's syscall bookkeeping
// (entersyscall/exitsyscall, a few percent of a request's CPU here): the
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

// startEpoll starts one loop per -t thread and an acceptor per listener.
func (s *Server) startEpoll() error {
	loops := make([]*epollLoop, 0, s.set.Threads)
	for range s.set.Threads {
		l, err := newEpollLoop(s)
		if err != nil {
			for _, l := range loops {
				l.release()
			}
			return err
		}
		loops = append(loops, l)
	}
	s.mu.Lock()
	s.wakeLoops = func() {
		for _, l := range loops {
			l.wake()
		}
	}
	s.mu.Unlock()
	// Serve calls this after every goroutine has finished and Shutdown has
	// returned, so no wake can hit a closed (or reused) eventfd.
	s.releaseLoops = func() {
		for _, l := range loops {
			l.release()
		}
	}
	for _, l := range loops {
		s.wg.Add(1)
		go l.run()
	}
	handoff := s.epollHandoff(loops)
	for _, ln := range s.listeners {
		s.wg.Add(1)
		go s.acceptLoop(ln, handoff)
	}
	return nil
}
