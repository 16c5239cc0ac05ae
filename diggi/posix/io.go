package posix

import "errors"

// SetNonblock switches a descriptor between blocking and non-blocking
// (O_NONBLOCK): non-blocking calls fail with EAGAIN instead of waiting.
func (s *Sys) SetNonblock(fd int, nonblocking bool) error {
	h, ok := s.fds.get(fd)
	if !ok {
		return fdErr("set nonblock", fd, EBADF)
	}
	h.base().nonblock = nonblocking
	return nil
}

// Read reads up to len(p) bytes: whatever is available (a partial read),
// blocking until something is unless the descriptor is non-blocking. At
// end of stream it returns 0, io.EOF.
func (s *Sys) Read(fd int, p []byte) (int, error) {
	for {
		h, ok := s.fds.get(fd)
		if !ok {
			return 0, fdErr("read", fd, EBADF)
		}
		n, err := h.tryRead(p)
		if !errors.Is(err, EAGAIN) {
			return n, err
		}
		if h.base().nonblock {
			return 0, errReadAgain
		}
		if err := s.block(h.base().wait()); err != nil {
			return 0, fdErr("read", fd, err)
		}
	}
}

// Write writes all of p, blocking while the peer's window (or the pipe) is
// full; a non-blocking descriptor writes what fits and returns EAGAIN only
// if nothing did.
func (s *Sys) Write(fd int, p []byte) (int, error) {
	if h, ok := s.fds.get(fd); ok && h.base().nonblock {
		// A non-blocking write never releases the baton, so no other
		// Write can reuse the Sys's one-element iovec before this one
		// returns; a fresh slice would escape and cost an allocation per
		// write. A blocking write may wait, and gets its own.
		s.iov1[0] = p
		n, err := s.Writev(fd, s.iov1[:])
		s.iov1[0] = nil
		return n, err
	}
	return s.Writev(fd, [][]byte{p})
}

// Sendmsg writes the iovec of a msghdr; see Writev.
func (s *Sys) Sendmsg(fd int, iov [][]byte) (int, error) { return s.Writev(fd, iov) }

// Writev writes the concatenation of bufs, like Write.
func (s *Sys) Writev(fd int, bufs [][]byte) (int, error) {
	want := sumLen(bufs)
	total := 0
	for total < want {
		h, ok := s.fds.get(fd)
		if !ok {
			return total, fdErr("write", fd, EBADF)
		}
		nb := h.base().nonblock
		n, err := h.tryWrite(bufs, total)
		total += n
		if err == nil {
			continue
		}
		if !errors.Is(err, EAGAIN) {
			return total, err
		}
		if nb {
			if total > 0 {
				return total, nil
			}
			return 0, errWriteAgain
		}
		if err := s.block(h.base().wait()); err != nil {
			return total, fdErr("write", fd, err)
		}
	}
	return total, nil
}

// gather copies n bytes of bufs, starting skip bytes in, onto dst.
func gather(dst []byte, bufs [][]byte, skip, n int) []byte {
	for _, b := range bufs {
		if n == 0 {
			break
		}
		if skip >= len(b) {
			skip -= len(b)
			continue
		}
		b = b[skip:]
		skip = 0
		if len(b) > n {
			b = b[:n]
		}
		dst = append(dst, b...)
		n -= len(b)
	}
	return dst
}

// span returns the n bytes of bufs from skip on as one slice of the
// buffer that holds them all, if one does (no copy).
func span(bufs [][]byte, skip, n int) ([]byte, bool) {
	for _, b := range bufs {
		if skip >= len(b) {
			skip -= len(b)
			continue
		}
		if len(b)-skip >= n {
			return b[skip : skip+n], true
		}
		return nil, n == 0
	}
	return nil, n == 0
}

// sumLen is the total length of bufs.
func sumLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}
