package netconn

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/posix"
)

// Conn is a net.Conn over a Diggi socket.
type Conn struct {
	sys    *posix.Sys
	sched  *diggi.Scheduler
	fd     int
	h      posix.Handle // guards against fd reuse after the agent closed it
	local  Addr
	remote Addr

	rd, wd    *deadline
	wmu       sync.Mutex // one Write at a time keeps writes whole
	closeOnce sync.Once
	closed    chan struct{}
}

func newConn(sys *posix.Sys, fd int, local, remote Addr) (*Conn, error) {
	h, err := sys.Handle(fd)
	if err != nil {
		return nil, err
	}
	if err := sys.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	return &Conn{
		sys: sys, sched: sys.Scheduler(), fd: fd, h: h,
		local: local, remote: remote,
		rd: newDeadline(), wd: newDeadline(),
		closed: make(chan struct{}),
	}, nil
}

// op runs fn under the baton if the connection is still ours. It returns
// the socket's wait channel when fn hit EAGAIN.
func (c *Conn) op(fn func() error) (wait <-chan struct{}, err error) {
	runErr := c.sched.Run(func() {
		if h, herr := c.sys.Handle(c.fd); herr != nil || h != c.h {
			err = net.ErrClosed
			return
		}
		err = fn()
		if errors.Is(err, syscall.EAGAIN) {
			wait, _ = c.sys.WaitChan(c.fd)
		}
	})
	if runErr != nil {
		return nil, net.ErrClosed
	}
	return wait, err
}

// await blocks until wait fires, the deadline passes or the conn closes.
func (c *Conn) await(wait <-chan struct{}, d *deadline) error {
	select {
	case <-wait:
		return nil
	case <-d.done():
		return os.ErrDeadlineExceeded
	case <-c.closed:
		return net.ErrClosed
	}
}

func (c *Conn) opErr(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &net.OpError{Op: op, Net: Network, Source: c.local, Addr: c.remote, Err: err}
}

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		select {
		case <-c.closed:
			return 0, c.opErr("read", net.ErrClosed)
		case <-c.rd.done():
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		default:
		}
		var n int
		wait, err := c.op(func() (err error) { n, err = c.sys.Read(c.fd, p); return })
		if wait == nil {
			return n, c.opErr("read", err)
		}
		if err := c.await(wait, c.rd); err != nil {
			return 0, c.opErr("read", err)
		}
	}
}

// Write implements net.Conn; it writes all of p unless an error occurs.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	total := 0
	for total < len(p) {
		select {
		case <-c.closed:
			return total, c.opErr("write", net.ErrClosed)
		case <-c.wd.done():
			return total, c.opErr("write", os.ErrDeadlineExceeded)
		default:
		}
		var n int
		wait, err := c.op(func() (err error) { n, err = c.sys.Write(c.fd, p[total:]); return })
		total += n
		if wait == nil {
			if err != nil {
				return total, c.opErr("write", err)
			}
			continue
		}
		if err := c.await(wait, c.wd); err != nil {
			return total, c.opErr("write", err)
		}
	}
	return total, nil
}

// CloseWrite half-closes the connection: the peer reads EOF, and can still
// send (like *net.TCPConn's CloseWrite). A gateway relaying TCP uses it to
// pass a client's half-close on.
func (c *Conn) CloseWrite() error {
	_, err := c.op(func() error { return c.sys.Shutdown(c.fd, syscall.SHUT_WR) })
	return c.opErr("close", err)
}

// Close implements net.Conn. It may be called from any goroutine, agent
// code included: the socket is closed by a task of the agent.
func (c *Conn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		err = nil
		close(c.closed)
		c.rd.stop()
		c.wd.stop()
		_ = c.sched.Schedule(func() {
			if h, herr := c.sys.Handle(c.fd); herr == nil && h == c.h {
				_ = c.sys.Close(c.fd)
			}
		})
	})
	return c.opErr("close", err)
}

// LocalAddr implements net.Conn.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr implements net.Conn.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline implements net.Conn.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline implements net.Conn.
func (c *Conn) SetReadDeadline(t time.Time) error { c.rd.set(t); return nil }

// SetWriteDeadline implements net.Conn.
func (c *Conn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }
