package posix

import (
	"fmt"
	"io"
)

// DefaultPipeSize is a pipe's ring buffer capacity (Linux's default).
const DefaultPipeSize = 64 << 10

// pipe is the shared state of a pipe's two ends: a circular ring buffer
// (§4.7). Writes schedule the read end's events, since no message arrives
// to do it.
type pipe struct {
	buf         []byte
	head, n     int // read position and bytes buffered
	readClosed  bool
	writeClosed bool
	r, w        *pipeEnd
}

type pipeEnd struct {
	handleBase
	p     *pipe
	write bool
	nprog uint64
}

// Pipe creates a pipe and returns its read and write descriptors.
func (s *Sys) Pipe() (r, w int, err error) {
	p := &pipe{buf: make([]byte, DefaultPipeSize)}
	p.r = &pipeEnd{handleBase: handleBase{sys: s}, p: p}
	p.w = &pipeEnd{handleBase: handleBase{sys: s}, p: p, write: true}
	if r, err = s.allocFD(p.r); err != nil {
		return -1, -1, fmt.Errorf("pipe: %w", err)
	}
	if w, err = s.allocFD(p.w); err != nil {
		s.freeFD(r)
		return -1, -1, fmt.Errorf("pipe: %w", err)
	}
	return r, w, nil
}

func (e *pipeEnd) Type() HandleType { return HandlePipe }

func (e *pipeEnd) progress() uint64 { return e.nprog }

func (e *pipeEnd) Poll() Events {
	p := e.p
	if e.write {
		if p.readClosed {
			return PollErr
		}
		if p.n < len(p.buf) {
			return PollOut
		}
		return 0
	}
	var ev Events
	if p.n > 0 {
		ev |= PollIn
	}
	if p.writeClosed {
		ev |= PollHup
	}
	return ev
}

func (e *pipeEnd) tryRead(b []byte) (int, error) {
	p := e.p
	if e.write {
		return 0, fdErr("read", e.fd, EBADF)
	}
	if p.n == 0 {
		if len(b) == 0 {
			return 0, nil
		}
		if p.writeClosed {
			return 0, io.EOF
		}
		return 0, EAGAIN
	}
	n := 0
	for n < len(b) && p.n > 0 {
		end := min(p.head+p.n, len(p.buf))
		c := copy(b[n:], p.buf[p.head:end])
		n += c
		p.head = (p.head + c) % len(p.buf)
		p.n -= c
	}
	if p.n == 0 {
		p.head = 0
	}
	e.nprog += uint64(n)
	p.w.bump(p.w) // room to write
	return n, nil
}

func (e *pipeEnd) tryWrite(bufs [][]byte, skip int) (int, error) {
	p := e.p
	if !e.write {
		return 0, fdErr("write", e.fd, EBADF)
	}
	if p.readClosed {
		return 0, fdErr("write", e.fd, EPIPE)
	}
	want := sumLen(bufs) - skip
	free := len(p.buf) - p.n
	if free == 0 {
		return 0, EAGAIN
	}
	n := min(want, free)
	chunk := gather(nil, bufs, skip, n)
	for off := 0; off < n; {
		tail := (p.head + p.n) % len(p.buf)
		end := len(p.buf)
		if tail < p.head {
			end = p.head
		}
		c := copy(p.buf[tail:end], chunk[off:])
		off += c
		p.n += c
	}
	e.nprog += uint64(n)
	p.r.bump(p.r) // readable: schedules the read end's events
	return n, nil
}

func (e *pipeEnd) close() error {
	if e.write {
		e.p.writeClosed = true
		e.p.r.bump(e.p.r)
	} else {
		e.p.readClosed = true
		e.p.w.bump(e.p.w)
	}
	return nil
}
