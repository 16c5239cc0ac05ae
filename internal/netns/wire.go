package netns

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The wire is one goroutine locked to one OS thread that does all the
// work: it waits in epoll for any host's TUN device to have a packet or
// for the next packet to be due, reads packets into per-pair queues with
// their due times, and writes each into its destination when it is due.
// One thread, raw system calls: a packet costs a read and a write and at
// most two wake-ups of this thread, with no hand-off between goroutines
// (a reader goroutine per host and a deliverer per pair, as before, woke
// Go's scheduler several times per packet).
//
// Precision: the thread's timer slack is 1 ns (PR_SET_TIMERSLACK; the
// default 50 µs let the kernel delay every timeout to batch wake-ups);
// it waits with epoll_pwait2, whose timeout is in nanoseconds (epoll_wait
// rounds to whole milliseconds); and it learns how late the kernel wakes
// it (lead, a moving average), goes to sleep that much before a packet is
// due and polls the devices without blocking for the rest, so a packet
// is never written before its due time, a late wake-up is mostly hidden,
// and packets that arrive meanwhile are still read, and stamped, at once.

// maxLead bounds how early the wire wakes before a packet is due, and so
// how long it polls without sleeping.
const maxLead = 200 * time.Microsecond

// maxQueue and maxQueueBytes bound a pair's queue; a packet beyond them
// is dropped, as a router drops when its queue is full.
const (
	maxQueue      = 4096
	maxQueueBytes = 16 << 20
)

// maxPacket is the largest packet a device hands over: an IP packet of
// 64 KB after its virtio_net_hdr.
const maxPacket = vnetHdrLen + 65535

type packet struct {
	data []byte
	due  time.Time
}

// Packet buffers: Ethernet-sized ones are pooled; larger ones (offload)
// are allocated to size.
var bufPool = sync.Pool{New: func() any { b := make([]byte, vnetHdrLen+MTU); return &b }}

func release(b []byte) {
	if cap(b) == vnetHdrLen+MTU {
		b = b[:cap(b)]
		bufPool.Put(&b)
	}
}

// pair is the queue of packets from one host to another, in order.
type pair struct {
	dst   *host
	q     []packet
	head  int
	bytes int
}

func (p *pair) len() int { return len(p.q) - p.head }

func (p *pair) push(pk packet) {
	if p.head > 0 && p.head == len(p.q) {
		p.q, p.head = p.q[:0], 0
	}
	p.q = append(p.q, pk)
	p.bytes += len(pk.data)
}

func (p *pair) pop() {
	p.bytes -= len(p.q[p.head].data)
	p.q[p.head] = packet{}
	p.head++
}

type wire struct {
	n     *Net
	epfd  int
	evfd  int // written by stop: the thread exits
	hosts []*host
	pairs []*pair
	buf   []byte // where packets are read
	done  chan struct{}
	lead  time.Duration
	// noPwait2: the kernel has no epoll_pwait2 (before Linux 5.11), so
	// timeouts are whole milliseconds, rounded down, and the rest polled.
	noPwait2 bool
	stats    wireStats
}

// wireStats counts what the wire did; the wire thread adds, Stats reads.
type wireStats struct {
	packets, acks, bytes, sleeps, polls, drops atomic.Uint64
}

// Stats counts what a network's wire has done since New.
type Stats struct {
	// Packets moved from one host to another (with offloads, a packet
	// may be a TCP segment of up to 64 KB), and of them Acks, TCP
	// packets without payload; Bytes is their IP length.
	Packets, Acks, Bytes uint64
	// Sleeps counts the wire thread's waits that blocked, Polls its
	// non-blocking looks at the devices while a packet was nearly due.
	Sleeps, Polls uint64
	// Drops counts packets lost on the way: a full queue, loss, or a
	// destination device that refused the write. TCP resends what is
	// lost, after a retransmission timeout if nothing follows it.
	Drops uint64
}

// startWire makes every pair's queue and starts the wire thread.
func startWire(n *Net) (*wire, error) {
	w := &wire{n: n, epfd: -1, evfd: -1, done: make(chan struct{}), buf: make([]byte, maxPacket)}
	var err error
	if w.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, err
	}
	if w.evfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		w.closeFDs()
		return nil, err
	}
	add := func(fd int, tag int32) error {
		return unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: tag})
	}
	if err := add(w.evfd, -1); err != nil {
		w.closeFDs()
		return nil, err
	}
	for _, name := range n.order {
		src := n.hosts[name]
		if err := add(src.tun, int32(len(w.hosts))); err != nil {
			w.closeFDs()
			return nil, err
		}
		w.hosts = append(w.hosts, src)
		src.out = map[*host]*pair{}
		for _, dname := range n.order {
			if dst := n.hosts[dname]; dst != src {
				p := &pair{dst: dst}
				src.out[dst] = p
				w.pairs = append(w.pairs, p)
			}
		}
	}
	go w.run()
	return w, nil
}

func (w *wire) closeFDs() {
	for _, fd := range []int{w.epfd, w.evfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// stop ends the wire thread and waits for it; the caller then closes the
// TUN devices.
func (w *wire) stop() {
	var one [8]byte // an eventfd counter, in the host's byte order
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(w.evfd, one[:])
	<-w.done
	w.closeFDs()
}

func (w *wire) run() {
	defer close(w.done)
	// The goroutine ends locked, so its thread, with its timer slack, is
	// never given to another goroutine.
	runtime.LockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) // best effort: only precision depends on it
	events := make([]unix.EpollEvent, len(w.hosts)+1)
	for {
		w.deliverDue(time.Now())
		next, ok := w.nextDue()
		timeout := time.Duration(-1) // none due: wait for a packet
		var wake time.Time
		if ok {
			timeout = max(time.Until(next)-w.lead, 0)
			wake = time.Now().Add(timeout)
		}
		if timeout == 0 {
			w.stats.polls.Add(1)
		} else {
			w.stats.sleeps.Add(1)
		}
		nev, err := w.wait(events, timeout)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return // the descriptors are gone: only stop does that
		}
		if nev == 0 && timeout > 0 {
			late := min(max(time.Since(wake), 0), maxLead)
			w.lead += (late - w.lead) / 8
		}
		for _, ev := range events[:nev] {
			if ev.Fd < 0 {
				return // stop
			}
			w.readAll(w.hosts[ev.Fd])
		}
	}
}

// wait is epoll_pwait2 with a timeout in nanoseconds (negative: none).
func (w *wire) wait(events []unix.EpollEvent, timeout time.Duration) (int, error) {
	if !w.noPwait2 {
		var ts *unix.Timespec
		if timeout >= 0 {
			t := unix.NsecToTimespec(timeout.Nanoseconds())
			ts = &t
		}
		r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(w.epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)),
			uintptr(unsafe.Pointer(ts)), 0, 0)
		if e == 0 {
			return int(r), nil
		}
		// Kernels before 5.11 lack it (ENOSYS), and older container
		// seccomp profiles refuse what they do not know (EPERM).
		if e != unix.ENOSYS && e != unix.EPERM {
			return 0, e
		}
		w.noPwait2 = true
	}
	ms := -1
	if timeout >= 0 {
		ms = int(timeout / time.Millisecond)
	}
	return unix.EpollWait(w.epfd, events, ms)
}

// readAll moves every packet src's device holds into the queue of its
// destination, after loss and the link's rate.
func (w *wire) readAll(src *host) {
	for {
		m, err := unix.Read(src.tun, w.buf)
		if err != nil || m <= 0 {
			return // EAGAIN: read everything
		}
		w.route(src, w.buf[:m])
	}
}

// route queues a copy of p, as read from src's device.
func (w *wire) route(src *host, p []byte) {
	ip := p
	if w.n.offload {
		if len(p) < vnetHdrLen {
			return
		}
		ip = p[vnetHdrLen:]
	}
	// IPv4 only; the destination's last octet names the host.
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return
	}
	dst := w.n.byIP[ip[19]]
	if dst == nil || dst == src {
		return
	}
	w.n.mu.Lock()
	s, d := src.spec, dst.spec
	w.n.mu.Unlock()
	if loss := 1 - (1-s.Loss)*(1-d.Loss); loss > 0 && rand.Float64() < loss {
		w.stats.drops.Add(1)
		return
	}
	q := src.out[dst]
	if q.len() >= maxQueue || q.bytes+len(p) > maxQueueBytes {
		w.stats.drops.Add(1)
		return // the queue is full: drop, as a router would
	}
	now := time.Now()
	depart := now
	if s.Rate > 0 {
		if src.nextOut.After(now) {
			depart = src.nextOut
		}
		depart = depart.Add(time.Duration(float64(len(ip)*8) / s.Rate * float64(time.Second)))
		src.nextOut = depart
	}
	var b []byte
	if len(p) <= vnetHdrLen+MTU {
		b = (*bufPool.Get().(*[]byte))[:len(p)]
	} else {
		b = make([]byte, len(p))
	}
	copy(b, p)
	w.stats.packets.Add(1)
	w.stats.bytes.Add(uint64(len(ip)))
	if ihl := int(ip[0]&0xf) * 4; ip[9] == unix.IPPROTO_TCP && len(ip) >= ihl+20 &&
		int(binary.BigEndian.Uint16(ip[2:])) == ihl+int(ip[ihl+12]>>4)*4 {
		w.stats.acks.Add(1)
	}
	q.push(packet{data: b, due: depart.Add(s.Delay/2 + d.Delay/2)})
}

// deliverDue writes every packet due by now, each pair in order.
func (w *wire) deliverDue(now time.Time) {
	for _, q := range w.pairs {
		for q.len() > 0 && !q.q[q.head].due.After(now) {
			pk := q.q[q.head]
			q.pop()
			if _, err := unix.Write(q.dst.tun, pk.data); err != nil {
				w.stats.drops.Add(1) // a full device drops, as a link would
			}
			release(pk.data)
		}
	}
}

// nextDue is the earliest due time of a packet at the head of a queue.
func (w *wire) nextDue() (time.Time, bool) {
	var next time.Time
	ok := false
	for _, q := range w.pairs {
		if q.len() > 0 && (!ok || q.q[q.head].due.Before(next)) {
			next, ok = q.q[q.head].due, true
		}
	}
	return next, ok
}
