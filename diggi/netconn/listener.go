package netconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/posix"
)

// Listener is a net.Listener on a port of an agent.
type Listener struct {
	sys       *posix.Sys
	fd        int
	h         posix.Handle
	addr      Addr
	closeOnce sync.Once
	closed    chan struct{}
}

// Listen listens on port of the agent that owns sys. Call it under the
// agent's baton (from Init, Start or a task); Accept is then used from
// any goroutine that does not hold it, typically http.Server.Serve's.
func Listen(sys *posix.Sys, port uint16) (*Listener, error) {
	fd, err := sys.Socket()
	if err != nil {
		return nil, err
	}
	if err := sys.Listen(fd, port, 0); err != nil {
		_ = sys.Close(fd)
		return nil, err
	}
	h, _ := sys.Handle(fd)
	if err := sys.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	info := sys.Context().Info()
	return &Listener{
		sys: sys, fd: fd, h: h,
		addr:   Addr{Agent: info.ID, Name: info.String(), Port: port},
		closed: make(chan struct{}),
	}, nil
}

// Accept implements net.Listener.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		var nfd int
		var peer diggi.AgentID
		var err error
		var wait <-chan struct{}
		runErr := l.sys.Scheduler().Run(func() {
			if h, herr := l.sys.Handle(l.fd); herr != nil || h != l.h {
				err = net.ErrClosed
				return
			}
			nfd, peer, err = l.sys.Accept(l.fd)
			if errors.Is(err, syscall.EAGAIN) {
				wait, _ = l.sys.WaitChan(l.fd)
			}
		})
		if runErr != nil {
			err = net.ErrClosed
		}
		if wait == nil {
			if err != nil {
				return nil, &net.OpError{Op: "accept", Net: Network, Addr: l.addr, Err: err}
			}
			var c *Conn
			runErr = l.sys.Scheduler().Run(func() {
				remote := Addr{Agent: peer}
				if info, ok := l.sys.Context().Directory().ByID(peer); ok {
					remote.Name = info.String()
				}
				c, err = newConn(l.sys, nfd, l.addr, remote)
			})
			if runErr != nil || err != nil {
				return nil, &net.OpError{Op: "accept", Net: Network, Addr: l.addr, Err: errors.Join(runErr, err)}
			}
			return c, nil
		}
		select {
		case <-wait:
		case <-l.closed:
			return nil, &net.OpError{Op: "accept", Net: Network, Addr: l.addr, Err: net.ErrClosed}
		}
	}
}

// Close implements net.Listener; callable from any goroutine.
func (l *Listener) Close() error {
	err := error(net.ErrClosed)
	l.closeOnce.Do(func() {
		err = nil
		close(l.closed)
		_ = l.sys.Scheduler().Schedule(func() {
			if h, herr := l.sys.Handle(l.fd); herr == nil && h == l.h {
				_ = l.sys.Close(l.fd)
			}
		})
	})
	return err
}

// Addr implements net.Listener.
func (l *Listener) Addr() net.Addr { return l.addr }

// Dial connects to address ("agent:port") from the agent that owns sys. It
// must be called without the baton (see the package comment).
func Dial(ctx context.Context, sys *posix.Sys, address string) (*Conn, error) {
	return DialFrom(ctx, sys, address, posix.Origin{})
}

// DialFrom is Dial for a relay: the connection carries origin, where the
// relay's own client comes from, for the acceptor to report (see
// posix.Origin).
func DialFrom(ctx context.Context, sys *posix.Sys, address string, origin posix.Origin) (*Conn, error) {
	fd, remote, err := dialFD(ctx, sys, address, origin)
	if err != nil {
		return nil, err
	}
	me := sys.Context().Info()
	local := Addr{Agent: me.ID, Name: me.String()}
	var c *Conn
	if runErr := sys.Scheduler().Run(func() { c, err = newConn(sys, fd, local, remote) }); runErr != nil {
		err = runErr
	}
	if err != nil {
		_ = sys.Scheduler().Schedule(func() { _ = sys.Close(fd) })
		return nil, &net.OpError{Op: "dial", Net: Network, Addr: remote, Err: err}
	}
	return c, nil
}

// DialFD is Dial for an agent that drives the socket itself through
// posix (events, non-blocking reads and writes) instead of a net.Conn: it
// returns the connected, non-blocking descriptor. It must be called
// without the baton.
func DialFD(ctx context.Context, sys *posix.Sys, address string) (int, error) {
	fd, _, err := dialFD(ctx, sys, address, posix.Origin{})
	return fd, err
}

// dialFD connects a non-blocking socket to address, waiting without the
// baton for the connection to complete or ctx to end.
func dialFD(ctx context.Context, sys *posix.Sys, address string, origin posix.Origin) (int, Addr, error) {
	host, port, err := ParseAddress(address)
	if err != nil {
		return -1, Addr{}, &net.OpError{Op: "dial", Net: Network, Err: err}
	}
	info, err := resolve(sys.Context().Directory(), host)
	if err != nil {
		return -1, Addr{}, err
	}
	remote := Addr{Agent: info.ID, Name: info.String(), Port: port}
	fd := -1
	var wait <-chan struct{}
	connected := false
	runErr := sys.Scheduler().Run(func() {
		if fd, err = sys.Socket(); err != nil {
			return
		}
		if err = sys.SetNonblock(fd, true); err != nil {
			return
		}
		if origin != (posix.Origin{}) {
			if err = sys.SetOrigin(fd, origin); err != nil {
				return
			}
		}
		err = sys.Connect(fd, info.ID, port)
		switch {
		case errors.Is(err, syscall.EINPROGRESS):
			wait, _ = sys.WaitChan(fd)
			err = nil
		case err == nil:
			connected = true
		}
	})
	if runErr != nil {
		err = runErr
	}
	for err == nil && !connected {
		select {
		case <-wait:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		runErr = sys.Scheduler().Run(func() {
			ev := sys.PollFD(fd)
			switch {
			case ev&posix.PollErr != 0:
				err = fmt.Errorf("connect: %w", syscall.ECONNREFUSED)
			case ev&posix.PollOut != 0:
				connected = true
			default:
				wait, _ = sys.WaitChan(fd)
			}
		})
		if runErr != nil {
			err = runErr
		}
	}
	if err != nil {
		if fd >= 0 {
			_ = sys.Scheduler().Schedule(func() { _ = sys.Close(fd) })
		}
		return -1, remote, &net.OpError{Op: "dial", Net: Network, Addr: remote, Err: err}
	}
	return fd, remote, nil
}

// Dialer returns a DialContext function for libraries that take one
// (gomemcache's Client.DialContext, http.Transport.DialContext). network
// is ignored: every address is a Diggi "agent:port".
func Dialer(sys *posix.Sys) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, _, address string) (net.Conn, error) {
		c, err := Dial(ctx, sys, address)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
