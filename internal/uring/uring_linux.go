//go:build linux

package uring

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's ABI (include/uapi/linux/io_uring.h).
const (
	opSend = 26 // IORING_OP_SEND

	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS

	registerProbe = 8      // IORING_REGISTER_PROBE
	opSupported   = 1 << 0 // IO_URING_OP_SUPPORTED
	probeOps      = 64

	featSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	featNoDrop     = 1 << 1 // IORING_FEAT_NODROP

	offSQRing = 0          // IORING_OFF_SQ_RING
	offCQRing = 0x8000000  // IORING_OFF_CQ_RING
	offSQEs   = 0x10000000 // IORING_OFF_SQES

	sqeSize = 64
	cqeSize = 16
)

type sqRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqRingOffsets
	cqOff                                                                  cqRingOffsets
}

type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	msgFlags    uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFDIn  int32
	addr3       uint64
	pad         uint64
}

type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// Ring is one io_uring instance.
type Ring struct {
	fd       int
	entries  uint32
	sqMem    []byte // the submission ring (and the completion ring, if shared)
	cqMem    []byte // the completion ring when mapped on its own
	sqeMem   []byte
	sqTail   *uint32
	sqMask   uint32
	sqArray  unsafe.Pointer
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     unsafe.Pointer
	queued   uint32 // entries written since the last submit
	inflight [][]byte
	reported []bool // by Submit, for each queued send
}

// ErrClosed means the ring was closed.
var ErrClosed = errors.New("uring: ring closed")

// ErrFull means the ring holds as many sends as it has entries; Submit
// them first.
var ErrFull = errors.New("uring: ring full")

// New sets up a ring for up to entries sends per submission. It fails
// where io_uring is unavailable (an old kernel, io_uring_disabled, a
// seccomp filter such as a container runtime's default one); callers then
// write one buffer at a time.
func New(entries uint32) (*Ring, error) {
	var p params
	fd, _, errno := syscall.RawSyscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd), entries: p.sqEntries, reported: make([]bool, p.sqEntries)}
	if p.features&featNoDrop == 0 {
		// Without NODROP a full completion ring loses completions, and a
		// lost completion would leave a send's outcome unknown.
		r.Close()
		return nil, errors.New("io_uring: kernel lacks IORING_FEAT_NODROP")
	}
	if !r.supports(opSend) {
		r.Close()
		return nil, errors.New("io_uring: kernel lacks IORING_OP_SEND")
	}
	if err := r.mmap(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// supports asks the kernel whether its rings know op (IORING_REGISTER_PROBE;
// a kernel too old to answer is too old for the operations used here).
func (r *Ring) supports(op uint8) bool {
	var probe struct {
		lastOp, opsLen uint8
		resv           uint16
		resv2          [3]uint32
		ops            [probeOps]struct {
			op, resv uint8
			flags    uint16
			resv2    uint32
		}
	}
	if _, _, errno := syscall.RawSyscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerProbe, uintptr(unsafe.Pointer(&probe)), probeOps, 0, 0); errno != 0 {
		return false
	}
	return op <= probe.lastOp && int(op) < probeOps && probe.ops[op].flags&opSupported != 0
}

func (r *Ring) mmap(p *params) error {
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*cqeSize)
	if p.features&featSingleMmap != 0 {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("io_uring mmap sq: %w", err)
	}
	cq := r.sqMem
	if p.features&featSingleMmap == 0 {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
			return fmt.Errorf("io_uring mmap cq: %w", err)
		}
		cq = r.cqMem
	}
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("io_uring mmap sqes: %w", err)
	}
	r.sqTail = (*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.tail]))
	r.sqMask = *(*uint32)(unsafe.Pointer(&r.sqMem[p.sqOff.ringMask]))
	r.sqArray = unsafe.Pointer(&r.sqMem[p.sqOff.array])
	r.cqHead = (*uint32)(unsafe.Pointer(&cq[p.cqOff.head]))
	r.cqTail = (*uint32)(unsafe.Pointer(&cq[p.cqOff.tail]))
	r.cqMask = *(*uint32)(unsafe.Pointer(&cq[p.cqOff.ringMask]))
	r.cqes = unsafe.Pointer(&cq[p.cqOff.cqes])
	return nil
}

// Close releases the ring.
func (r *Ring) Close() error {
	for _, m := range [][]byte{r.sqeMem, r.cqMem, r.sqMem} {
		if m != nil {
			unix.Munmap(m)
		}
	}
	r.sqeMem, r.cqMem, r.sqMem = nil, nil, nil
	if r.fd < 0 {
		return nil
	}
	err := syscall.Close(r.fd)
	r.fd = -1
	return err
}

// Entries is how many sends one submission can carry.
func (r *Ring) Entries() int { return int(r.entries) }

// Queued is how many sends wait for Submit.
func (r *Ring) Queued() int { return int(r.queued) }

// Send queues a non-blocking send of p on the socket fd; Submit carries it
// out. p must not change until then.
func (r *Ring) Send(fd int, p []byte) error {
	if r.fd < 0 {
		return ErrClosed
	}
	if r.queued == r.entries {
		return ErrFull
	}
	tail := *r.sqTail + r.queued
	idx := tail & r.sqMask
	s := (*sqe)(unsafe.Add(unsafe.Pointer(&r.sqeMem[0]), uintptr(idx)*sqeSize))
	*s = sqe{
		opcode:   opSend,
		fd:       int32(fd),
		addr:     uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p)))),
		len:      uint32(min(len(p), math.MaxInt32)), // a send's count fits a CQE's int32
		msgFlags: unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL,
		userData: uint64(r.queued),
	}
	*(*uint32)(unsafe.Add(r.sqArray, uintptr(idx)*4)) = idx
	// The buffer's only reference may be this one until the kernel has
	// copied it: keep it reachable.
	r.inflight = append(r.inflight, p)
	r.queued++
	return nil
}

// Submit carries out the queued sends, in the order they were queued, and
// calls done for each (in the order they complete) with its index in queue
// order and the bytes it sent (which may be fewer than asked: the socket's
// buffer filled) or its error (syscall.EAGAIN: nothing fitted). Sends to different sockets are
// independent: queue at most one per socket per Submit, since the kernel
// may complete a later send to a socket whose earlier one came up short.
//
// An error means the kernel refused the submission; the sends it did not
// take are reported with ErrNotSent, and the ring must be closed.
func (r *Ring) Submit(done func(i int, n int, err error)) error {
	n := r.queued
	if n == 0 {
		return nil
	}
	if r.fd < 0 {
		r.queued = 0
		clear(r.inflight)
		r.inflight = r.inflight[:0]
		for i := range n {
			done(int(i), 0, ErrNotSent)
		}
		return ErrClosed
	}
	atomic.StoreUint32(r.sqTail, *r.sqTail+n)
	r.queued = 0
	var err error
	submitted := uint32(0)
	for submitted < n {
		// Non-blocking sends complete during the submission, so this
		// raw call asks for no completions and never waits; reap waits
		// (through the runtime) for any that were not there.
		got, _, errno := syscall.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(n-submitted), 0, 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			err = fmt.Errorf("io_uring_enter: %w", errno)
			break
		}
		submitted += uint32(got)
	}
	clear(r.reported)
	if werr := r.reap(submitted, done); werr != nil {
		// The kernel took these sends but their outcome is unknown.
		err = werr
		for i := range submitted {
			if !r.reported[i] {
				done(int(i), 0, werr)
			}
		}
	}
	for i := submitted; i < n; i++ {
		done(int(i), 0, ErrNotSent)
	}
	clear(r.inflight)
	r.inflight = r.inflight[:0]
	return err
}

// ErrNotSent reports a send that a failed Submit did not make.
var ErrNotSent = errors.New("uring: send not submitted")

// reap takes n completions, marking each in r.reported.
func (r *Ring) reap(n uint32, done func(i int, n int, err error)) error {
	head := *r.cqHead
	for seen := uint32(0); seen < n; {
		tail := atomic.LoadUint32(r.cqTail)
		if head == tail {
			// Unreachable for sends that cannot block; wait rather than
			// lose a completion.
			if _, _, errno := syscall.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 0, 1, enterGetEvents, 0, 0); errno != 0 && errno != syscall.EINTR {
				return fmt.Errorf("io_uring_enter wait: %w", errno)
			}
			continue
		}
		for ; head != tail && seen < n; head++ {
			c := (*cqe)(unsafe.Add(r.cqes, uintptr(head&r.cqMask)*cqeSize))
			i, res := int(c.userData), int(c.res)
			seen++
			r.reported[i] = true
			if res < 0 {
				done(i, 0, syscall.Errno(-res))
			} else {
				done(i, res, nil)
			}
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	return nil
}
