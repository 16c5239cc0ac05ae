package posix

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/securecached/securecached/diggi"
)

// windowPair connects n client sockets to a listener of server and returns
// the client descriptors and the server's accepted ones, in order.
func windowPair(t *testing.T, ctxs map[string]*diggi.Context, port uint16, n int) (cfds, sfds []int) {
	t.Helper()
	lfd := listen(t, ctxs["server"], port)
	for range n {
		wait(t, spawn(t, ctxs["client"], func(s *Sys) {
			fd, err := s.Socket()
			if err == nil {
				err = s.ConnectName(fd, "server", port)
			}
			if err == nil {
				err = s.SetNonblock(fd, true)
			}
			if err != nil {
				t.Error(err)
			}
			cfds = append(cfds, fd)
		}), "connect")
		wait(t, spawn(t, ctxs["server"], func(s *Sys) {
			fd, _, err := s.Accept(lfd)
			if err == nil {
				err = s.SetNonblock(fd, true)
			}
			if err != nil {
				t.Error(err)
			}
			sfds = append(sfds, fd)
		}), "accept")
	}
	return cfds, sfds
}

// fill writes to the non-blocking fd until the peer's window stops it and
// returns what was written; the writer is woken by the peer's grants, so
// a peer that reads lets fill go on.
func fill(t *testing.T, s *Sys, fd int, max int) int {
	chunk := make([]byte, 16<<10)
	total := 0
	for total < max {
		n, err := s.Write(fd, chunk[:min(len(chunk), max-total)])
		total += n
		if errors.Is(err, syscall.EAGAIN) {
			return total
		}
		if err != nil {
			t.Error(err)
			return total
		}
	}
	return total
}

// A receiver that never reads holds at most the starting window however
// much its peer wants to send: the window grows only as a reader drains.
func TestWindowOfANonReaderStaysSmall(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	cfds, sfds := windowPair(t, ctxs, 21, 1)
	sent := 0
	for range 4 {
		wait(t, spawn(t, ctxs["client"], func(s *Sys) { sent += fill(t, s, cfds[0], 1<<20) }), "write")
		// Let every segment and grant settle in both agents.
		wait(t, spawn(t, ctxs["server"], func(*Sys) {}), "server settles")
		wait(t, spawn(t, ctxs["client"], func(*Sys) {}), "client settles")
	}
	if sent != minWindow {
		t.Errorf("the writer sent %d bytes to a receiver that never reads, want the starting window %d", sent, minWindow)
	}
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		sk := s.fds.at(sfds[0]).(*socket)
		if sk.rqLen > minWindow || sk.rcvBuf != minWindow || cap(sk.rq) > 2*minWindow {
			t.Errorf("non-reader: %d bytes buffered in %d of memory, window %d; want at most %d", sk.rqLen, cap(sk.rq), sk.rcvBuf, minWindow)
		}
	}), "check")
}

// A reader that keeps draining a sender its window holds back gets a
// larger window, up to RecvBuffer and within the agent's budget; once the
// flow slows the window is given back, and closing returns the rest.
func TestWindowGrowsWhileDrainedAndShrinksWhenQuiet(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	const budget = 3 * DefaultRecvBuffer / 2
	wait(t, spawn(t, ctxs["server"], func(s *Sys) { s.WindowBudget = budget }), "config")
	cfds, sfds := windowPair(t, ctxs, 22, 3)
	buf := make([]byte, 64<<10)
	// Each client sends 4 MB while the server drains.
	for i := range cfds {
		sent, got := 0, 0
		for sent < 4<<20 || got < sent {
			wait(t, spawn(t, ctxs["client"], func(s *Sys) { sent += fill(t, s, cfds[i], 4<<20-sent) }), "write")
			wait(t, spawn(t, ctxs["server"], func(s *Sys) {
				for {
					n, err := s.Read(sfds[i], buf)
					got += n
					if err != nil {
						if !errors.Is(err, syscall.EAGAIN) {
							t.Error(err)
						}
						return
					}
				}
			}), "read")
			wait(t, spawn(t, ctxs["client"], func(*Sys) {}), "client settles")
		}
	}
	var windows []int
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		for _, fd := range sfds {
			sk := s.fds.at(fd).(*socket)
			windows = append(windows, sk.rcvBuf)
			if sk.rcvBuf > sk.rcvMax {
				t.Errorf("window %d above RecvBuffer %d", sk.rcvBuf, sk.rcvMax)
			}
		}
		if s.grown > budget {
			t.Errorf("windows grew by %d in all, above the budget %d", s.grown, budget)
		}
	}), "check growth")
	if windows[0] != DefaultRecvBuffer {
		t.Errorf("a drained bulk flow's window is %d, want RecvBuffer %d", windows[0], DefaultRecvBuffer)
	}
	if windows[2] > windows[1] || windows[2] == DefaultRecvBuffer {
		t.Errorf("windows %v: the budget should have stopped the last socket short of %d", windows, DefaultRecvBuffer)
	}

	// Writes that never fill the window from now on: the first socket's
	// window is given back as the reader consumes them.
	small := make([]byte, 4<<10)
	for range 4 * shrinkAfter {
		wait(t, spawn(t, ctxs["client"], func(s *Sys) {
			if n, err := s.Write(cfds[0], small); n != len(small) {
				t.Errorf("small write: %d, %v", n, err)
			}
		}), "small write")
		wait(t, spawn(t, ctxs["server"], func(s *Sys) {
			if n, err := s.Read(sfds[0], buf); n != len(small) {
				t.Errorf("small read: %d, %v", n, err)
			}
		}), "small read")
	}
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		if sk := s.fds.at(sfds[0]).(*socket); sk.rcvBuf != minWindow {
			t.Errorf("after small exchanges the window is %d, want %d", sk.rcvBuf, minWindow)
		}
		for _, fd := range sfds {
			s.Close(fd)
		}
		if s.grown != 0 {
			t.Errorf("%d bytes of grown window left after every socket closed", s.grown)
		}
	}), "check shrink")
}

// Window grants ride on data going the other way: a request and reply
// exchange sends one message per request and one per reply, and no
// grant of its own, however many windows of bytes it moves.
func TestGrantsRideOnReplies(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	echoServer(t, ctxs["server"], 23)
	const exchanges = 200 // 200 KB each way: six starting windows
	sentBy := func(name string) uint64 {
		var n uint64
		wait(t, spawn(t, ctxs[name], func(s *Sys) { n = s.Context().Messages().Stats().Sent }), "stats")
		return n
	}
	var fd int
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fd, _ = s.Socket()
		if err := s.ConnectName(fd, "server", 23); err != nil {
			t.Error(err)
		}
	}), "connect")
	server0, client0 := sentBy("server"), sentBy("client")
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		req := bytes.Repeat([]byte("r"), 1000) // the echo server reads 1000 at a time
		got := make([]byte, len(req))
		for i := range exchanges {
			if _, err := s.Write(fd, req); err != nil {
				t.Errorf("exchange %d: %v", i, err)
				return
			}
			if _, err := io.ReadFull(readerOf(s, fd), got); err != nil {
				t.Errorf("exchange %d: %v", i, err)
				return
			}
		}
	}), "exchanges")
	server, client := sentBy("server")-server0, sentBy("client")-client0
	if server > exchanges || client > exchanges {
		t.Errorf("%d exchanges sent %d messages from the server and %d from the client, want at most %d each (no grants alone)", exchanges, server, client, exchanges)
	}
	wait(t, spawn(t, ctxs["client"], func(s *Sys) { s.Close(fd) }), "close")
}

// readerOf reads fd of s (under the baton, blocking) as an io.Reader.
func readerOf(s *Sys, fd int) io.Reader { return fdReader{s, fd} }

type fdReader struct {
	s  *Sys
	fd int
}

func (r fdReader) Read(p []byte) (int, error) { return r.s.Read(r.fd, p) }
