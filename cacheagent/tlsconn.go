package cacheagent

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/diggi/posix"
)

// sockConn is the net.Conn under a TLS session: a Diggi socket of the
// agent. It has two modes. During the handshake a goroutine drives
// crypto/tls and sockConn blocks like diggi/netconn (taking the baton per
// operation). Afterwards the session runs under the baton from posix
// events, and sockConn never blocks: a read with nothing buffered fails
// with errWouldBlock, which crypto/tls treats as temporary (it keeps a
// partial record and lets the next Read continue), and writes always
// succeed into pending, which the session flushes once per batch of output
// and, when the client's window is full, from the write event.
type sockConn struct {
	sys     *posix.Sys
	fd      int
	h       posix.Handle
	local   net.Addr
	remote  net.Addr
	evented bool   // under the baton, non-blocking (after the handshake)
	pending []byte // evented writes not yet taken by the socket, from sent on
	sent    int
	ctx     context.Context
}

// errWouldBlock is a temporary net.Error, so crypto/tls does not make it
// sticky.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "cacheagent: tls read would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

func (c *sockConn) Read(p []byte) (int, error) {
	if c.evented {
		// Ask first: every drained read would otherwise end in an EAGAIN
		// error value built for nothing.
		if c.sys.PollFD(c.fd)&(posix.PollIn|posix.PollHup|posix.PollErr|posix.PollNval) == 0 {
			return 0, errWouldBlock
		}
		n, err := c.sys.Read(c.fd, p)
		if errors.Is(err, syscall.EAGAIN) {
			return 0, errWouldBlock
		}
		return n, err
	}
	return c.blocking(func() (int, error) { return c.sys.Read(c.fd, p) })
}

func (c *sockConn) Write(p []byte) (int, error) {
	if c.evented {
		// Collect the records of one reply and let the session flush them
		// together: one Diggi message per batch of output, not per record.
		c.pending = append(c.pending, p...)
		return len(p), nil
	}
	total := 0
	for total < len(p) {
		n, err := c.blocking(func() (int, error) { return c.sys.Write(c.fd, p[total:]) })
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// flush writes pending bytes; it reports whether all went out. Once
// empty, the buffer is kept for reuse up to maxIdlePending and given back
// if it grew larger (a large reply to a slow client), so an idle session
// does not hold it.
func (c *sockConn) flush() (bool, error) {
	for c.sent < len(c.pending) {
		n, err := c.sys.Write(c.fd, c.pending[c.sent:])
		c.sent += n
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) {
				return false, nil
			}
			return false, err
		}
	}
	if cap(c.pending) > maxIdlePending {
		c.pending = nil
	}
	c.pending, c.sent = c.pending[:0], 0
	return true, nil
}

// maxIdlePending is the most encrypted-output buffer a TLS session keeps
// between replies: a record batch (tlsChunk) and its overhead.
const maxIdlePending = 2 * tlsChunk

// unsent is how many pending bytes wait for the client's window.
func (c *sockConn) unsent() int { return len(c.pending) - c.sent }

// blocking runs a non-blocking socket op under the baton, waiting without
// it while the op would block (the handshake goroutine).
func (c *sockConn) blocking(op func() (int, error)) (int, error) {
	sched := c.sys.Scheduler()
	for {
		var n int
		var err error
		var wait <-chan struct{}
		if rerr := sched.Run(func() {
			if h, herr := c.sys.Handle(c.fd); herr != nil || h != c.h {
				err = net.ErrClosed
				return
			}
			n, err = op()
			if errors.Is(err, syscall.EAGAIN) {
				wait, _ = c.sys.WaitChan(c.fd)
			}
		}); rerr != nil {
			return 0, net.ErrClosed
		}
		if wait == nil {
			return n, err
		}
		select {
		case <-wait:
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		}
	}
}

// Close is the session's to do (under the baton); crypto/tls's Close is
// never called on this conn.
func (c *sockConn) Close() error                     { return nil }
func (c *sockConn) LocalAddr() net.Addr              { return c.local }
func (c *sockConn) RemoteAddr() net.Addr             { return c.remote }
func (c *sockConn) SetDeadline(time.Time) error      { return nil }
func (c *sockConn) SetReadDeadline(time.Time) error  { return nil }
func (c *sockConn) SetWriteDeadline(time.Time) error { return nil }

func diggiAddr(sys *posix.Sys, fd int) net.Addr {
	id, port, err := sys.PeerName(fd)
	if err != nil {
		return netconn.Addr{}
	}
	return netconn.Addr{Agent: id, Port: port}
}
