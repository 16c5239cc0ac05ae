//go:build linux

package gateway

import (
	"errors"
	"syscall"
	"unsafe"

	"github.com/securecached/securecached/internal/uring"
)

// replyWriter sends the cache agent's replies to clients' kernel sockets
// for the epoll relay, which does not know how: one write(2) per reply
// (plainWriter), or the replies of a burst in one io_uring submission
// (ringWriter). Each reply's outcome comes back to the relay through the
// settle function the writer was made with, before the writer gives out
// the buffer that reply was read into again.
type replyWriter interface {
	// room is where to read the next reply, or nil when the writer must
	// flush first.
	room() []byte
	// send sends p, read into room, to c's socket now or at the next
	// flush; it reports whether a flush is due.
	send(c *relayConn, p []byte) (flushDue bool)
	// flush sends what send queued and settles each. An error means the
	// writer broke: every reply was settled anyway (unsent ones with
	// uring.ErrNotSent), and the relay goes on with a plainWriter.
	flush() error
	close()
}

// settleFunc receives a reply's outcome: n bytes sent, and err (nil,
// syscall.EAGAIN when the socket filled, uring.ErrNotSent or
// syscall.EINVAL when it was not sent at all, or the socket's error).
type settleFunc func(c *relayConn, n int, err error)

// batchReplies sends the replies of a burst together (ringWriter) where the
// kernel allows it. Tests turn it off to cover the path that runs where it
// does not (io_uring disabled, or filtered as container runtimes do by
// default): one write(2) per reply.
var batchReplies = true

// replyBatch is the most replies one flush sends, and replyArena the
// bytes they may take; minReplyRoom is the least room left in the arena
// for reading another reply into it.
const (
	replyBatch   = 64
	replyArena   = 4 * relayBufSize
	minReplyRoom = 4 << 10
)

// plainWriter writes each reply at once with write(2).
type plainWriter struct {
	buf    []byte
	settle settleFunc
}

func newPlainWriter(settle settleFunc) *plainWriter {
	return &plainWriter{buf: make([]byte, relayBufSize), settle: settle}
}

func (w *plainWriter) room() []byte { return w.buf }
func (w *plainWriter) flush() error { return nil }
func (w *plainWriter) close()       {}

func (w *plainWriter) send(c *relayConn, p []byte) bool {
	n, err := writeAll(c.fd, p)
	w.settle(c, n, err)
	return false
}

// writeAll writes p until it is sent or the socket refuses more (EAGAIN,
// or its error).
func writeAll(fd int, p []byte) (int, error) {
	sent := 0
	for sent < len(p) {
		n, err := rawWrite(fd, p[sent:])
		if n > 0 {
			sent += n
			continue
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		return sent, err
	}
	return sent, nil
}

// ringWriter reads replies into an arena and sends a burst's replies in
// one submission (package uring) at flush, which the relay runs as a task
// behind the burst's other read events. A client has at most one reply in
// a flush: its relay settles it before reading the next (see relay).
type ringWriter struct {
	ring     *uring.Ring
	arena    []byte
	used     int
	queued   []*relayConn
	replies  [][]byte // by queued's index
	settle   settleFunc
	maxFlush int // the most replies one submission carried, for tests
}

func newRingWriter(settle settleFunc) (*ringWriter, error) {
	ring, err := uring.New(replyBatch)
	if err != nil {
		return nil, err
	}
	return &ringWriter{ring: ring, arena: make([]byte, replyArena), settle: settle}, nil
}

func (w *ringWriter) room() []byte {
	if len(w.queued) == w.ring.Entries() || len(w.arena)-w.used < minReplyRoom {
		return nil
	}
	return w.arena[w.used:]
}

func (w *ringWriter) send(c *relayConn, p []byte) bool {
	w.used += len(p)
	w.queued = append(w.queued, c)
	w.replies = append(w.replies, p)
	return true
}

func (w *ringWriter) flush() error {
	if len(w.queued) == 0 {
		return nil
	}
	defer w.reset()
	// A client closed since its reply was queued is skipped: its
	// descriptor's number may already be another client's.
	live := w.queued[:0]
	replies := w.replies[:0]
	for i, c := range w.queued {
		if !c.r.closed {
			live = append(live, c)
			replies = append(replies, w.replies[i])
		}
	}
	w.queued, w.replies = live, replies
	for i, c := range w.queued {
		if err := w.ring.Send(c.fd, w.replies[i]); err != nil {
			// The ring was closed, or is full (which room prevents):
			// nothing queued was submitted.
			for _, c := range w.queued {
				w.settle(c, 0, uring.ErrNotSent)
			}
			return err
		}
	}
	if len(w.queued) == 0 {
		return nil
	}
	w.maxFlush = max(w.maxFlush, len(w.queued))
	// Submit settles every send, those it did not make with ErrNotSent.
	return w.ring.Submit(func(i, n int, err error) { w.settle(w.queued[i], n, err) })
}

func (w *ringWriter) reset() {
	clear(w.queued)
	clear(w.replies)
	w.queued, w.replies, w.used = w.queued[:0], w.replies[:0], 0
}

func (w *ringWriter) close() { w.ring.Close() }

// rawWrite skips the Go scheduler's syscall bookkeeping: the sockets are
// non-blocking, so the call never waits in the kernel.
func rawWrite(fd int, p []byte) (int, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}
