package client

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecached/securecached/protocol"
)

// conn is one connection to a server, multiplexed: any number of requests
// may be outstanding (pipelining), each tagged with an opaque that the
// server echoes, and one reader goroutine hands responses to their callers.
type conn struct {
	nc      net.Conn
	srv     *server
	maxBody int
	codec   codec

	mu      sync.Mutex
	out     []byte           // requests queued, not yet written
	spare   []byte           // the other of two alternating write buffers
	writing bool             // a sender is writing out; it writes queued requests too
	wdl     time.Time        // the write deadline set; only the writing sender touches it
	pending map[uint32]*call // binary: calls by opaque
	queue   []*call          // text, meta: calls in request order
	opaque  uint32
	err     error // once set, the connection is finished

	inflight atomic.Int32
	done     chan struct{} // closed when the reader exits
}

// call is one request awaiting its response(s).
type call struct {
	req       *request
	resps     []protocol.BinResponse
	err       error
	done      chan struct{}
	abandoned bool // the caller stopped waiting; the reply is read and dropped
}

func newConn(nc net.Conn, srv *server, maxBody int, cd codec) *conn {
	c := &conn{nc: nc, srv: srv, maxBody: maxBody, codec: cd, pending: map[uint32]*call{}, done: make(chan struct{})}
	if cd.ordered() {
		go c.readOrdered()
	} else {
		go c.readLoop()
	}
	return c
}

// broken reports whether the connection has failed or been closed.
func (c *conn) broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil
}

// send registers a call and queues its request for writing. Registering
// and queueing happen under one lock, so the queue's order is the wire's
// order. Requests are write-combined: the first sender writes, and keeps
// writing whatever other senders queued meanwhile before it returns, so
// pipelined requests share writes (one Diggi message or TCP segment
// instead of one each) while a lone request is written at once.
func (c *conn) send(ctx context.Context, req *request) (*call, error) {
	cl := &call{req: req, done: make(chan struct{})}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.opaque++
	op := c.opaque
	out, err := c.codec.appendRequest(c.out, req, op)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.out = out
	if c.codec.ordered() {
		c.queue = append(c.queue, cl)
	} else {
		c.pending[op] = cl
	}
	c.inflight.Add(1)
	if c.writing {
		// The writing sender writes this request before it returns; a
		// failed write fails every call, this one included.
		c.mu.Unlock()
		return cl, nil
	}
	c.writing = true
	for len(c.out) > 0 && c.err == nil {
		buf := c.out
		c.out = c.spare[:0]
		c.mu.Unlock()
		err := c.write(ctx, buf)
		c.mu.Lock()
		c.spare = nil
		if cap(buf) <= 64<<10 {
			c.spare = buf[:0] // do not pin a large value's buffer
		}
		if err != nil {
			c.writing = false
			c.mu.Unlock()
			c.fail(err)
			return nil, err
		}
	}
	c.writing = false
	c.mu.Unlock()
	return cl, nil
}

// write writes buf whole. A stalled server must not hold the writer
// forever, even for an asynchronous call whose context has no deadline.
//
// Setting a deadline costs a timer, so the one set stays while it falls
// within half a timeout before the call's own: a write may then give up
// that much sooner than its caller would, never later.
func (c *conn) write(ctx context.Context, buf []byte) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(c.srv.cl.cfg.Timeout)
	}
	if c.wdl.After(dl) || c.wdl.Before(dl.Add(-c.srv.cl.cfg.Timeout/2)) {
		if err := c.nc.SetWriteDeadline(dl); err != nil {
			return fmt.Errorf("%w: %w", ErrConnBroken, err)
		}
		c.wdl = dl
	}
	if _, err := c.nc.Write(buf); err != nil {
		return fmt.Errorf("%w: write to %s: %w", ErrConnBroken, c.srv.cfg.Addr, err)
	}
	return nil
}

// wait blocks until the call completes or ctx ends. A call abandoned on
// timeout stays harmless: its response, if it ever comes, is dropped.
func (c *conn) wait(ctx context.Context, cl *call) ([]protocol.BinResponse, error) {
	select {
	case <-cl.done:
		return cl.resps, cl.err
	case <-ctx.Done():
		c.mu.Lock()
		if !cl.abandoned {
			select {
			case <-cl.done: // finished meanwhile
			default:
				cl.abandoned = true
				c.inflight.Add(-1)
				for op, p := range c.pending {
					if p == cl {
						delete(c.pending, op)
						break
					}
				}
			}
		}
		c.mu.Unlock()
		return nil, fmt.Errorf("memcache: waiting for %s: %w", c.srv.cfg.Addr, ctx.Err())
	}
}

func (c *conn) readLoop() {
	defer close(c.done)
	br := bufio.NewReaderSize(c.nc, 16<<10)
	var hdr [protocol.BinHeaderLen]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			c.fail(fmt.Errorf("%w: read from %s: %w", ErrConnBroken, c.srv.cfg.Addr, err))
			return
		}
		h := protocol.DecodeBinHeader(hdr[:])
		if err := protocol.CheckBinResponseHeader(h, c.maxBody); err != nil {
			c.fail(fmt.Errorf("%w: %s: %w", ErrConnBroken, c.srv.cfg.Addr, err))
			return
		}
		body := make([]byte, h.BodyLen)
		if _, err := io.ReadFull(br, body); err != nil {
			c.fail(fmt.Errorf("%w: read from %s: %w", ErrConnBroken, c.srv.cfg.Addr, err))
			return
		}
		r := protocol.SplitBinBody(h, body)

		c.mu.Lock()
		cl := c.pending[h.Opaque]
		if cl == nil { // abandoned by a caller that timed out
			c.mu.Unlock()
			continue
		}
		cl.resps = append(cl.resps, r)
		if cl.req.last(r) {
			delete(c.pending, h.Opaque)
			c.inflight.Add(-1)
			close(cl.done) // under mu, so wait's abandon check sees it
		}
		c.mu.Unlock()
	}
}

// readOrdered reads text or meta replies, each parsed according to the
// request at the head of the queue.
func (c *conn) readOrdered() {
	defer close(c.done)
	br := bufio.NewReaderSize(c.nc, 16<<10)
	for {
		if _, err := br.Peek(1); err != nil {
			c.fail(fmt.Errorf("%w: read from %s: %w", ErrConnBroken, c.srv.cfg.Addr, err))
			return
		}
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.mu.Unlock()
			c.fail(fmt.Errorf("%w: %s sent a reply nobody asked for", ErrConnBroken, c.srv.cfg.Addr))
			return
		}
		cl := c.queue[0]
		c.mu.Unlock()
		resps, err := c.codec.readCall(br, cl.req, c.maxBody)
		if err != nil {
			c.fail(fmt.Errorf("%w: %s: %w", ErrConnBroken, c.srv.cfg.Addr, err))
			return
		}
		c.mu.Lock()
		c.queue[0] = nil
		c.queue = c.queue[1:]
		if !cl.abandoned {
			c.inflight.Add(-1)
			cl.resps = resps
			close(cl.done)
		}
		c.mu.Unlock()
	}
}

// fail finishes the connection: every outstanding call gets err.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	var calls []*call
	for _, cl := range c.pending {
		calls = append(calls, cl)
	}
	for _, cl := range c.queue {
		if !cl.abandoned {
			calls = append(calls, cl)
		}
	}
	c.pending, c.queue = map[uint32]*call{}, nil
	c.inflight.Store(0)
	for _, cl := range calls {
		cl.err = err
		close(cl.done)
	}
	c.mu.Unlock()
	_ = c.nc.Close()
}

// close ends the connection and waits for its reader.
func (c *conn) close() {
	c.fail(ErrClosed)
	<-c.done
}

// tlsConfig returns the TLS configuration for a new connection to addr,
// or nil for plain connections. The result is the connection's own, so
// filling in ServerName cannot race with other dials.
func tlsConfig(cfg *Config, addr string) (*tls.Config, error) {
	var tc *tls.Config
	switch {
	case cfg.NewTLS != nil:
		c, err := cfg.NewTLS(addr)
		if err != nil {
			return nil, fmt.Errorf("memcache: TLS configuration for %s: %w", addr, err)
		}
		if c == nil {
			// Falling back to plaintext would silently drop the
			// protection the caller asked for.
			return nil, fmt.Errorf("memcache: TLS configuration for %s: NewTLS returned none", addr)
		}
		tc = c.Clone()
	case cfg.TLS != nil:
		tc = cfg.TLS.Clone()
	default:
		return nil, nil
	}
	if tc.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			tc.ServerName = host
		}
	}
	return tc, nil
}

// dialConn opens a connection, wrapping it in TLS when tc is set.
func dialConn(ctx context.Context, cfg *Config, srv *server, tc *tls.Config) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	nc, err := cfg.Dial(ctx, cmp.Or(srv.cfg.Network, cfg.Network), srv.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("memcache: dial %s: %w", srv.cfg.Addr, err)
	}
	if tc != nil {
		t := tls.Client(nc, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("memcache: TLS handshake with %s: %w", srv.cfg.Addr, err)
		}
		nc = t
	}
	return newConn(nc, srv, cfg.MaxValueSize+64<<10, cfg.Protocol.codec()), nil
}
