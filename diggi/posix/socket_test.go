package posix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
)

// echoServer accepts connections on port and echoes each until EOF, then
// closes it; each connection is served by its own task.
func echoServer(t testing.TB, ctx *diggi.Context, port uint16) {
	lfd := listen(t, ctx, port)
	spawn(t, ctx, func(s *Sys) {
		for {
			fd, _, err := s.Accept(lfd)
			if err != nil {
				return // listener closed at stop
			}
			if err := s.Scheduler().Schedule(func() {
				defer s.Close(fd)
				buf := make([]byte, 1000)
				for {
					n, err := s.Read(fd, buf)
					if n > 0 {
						if _, werr := s.Write(fd, buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}); err != nil {
				return
			}
		}
	})
}

func TestSocketEchoPartialReadsAndEOF(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	echoServer(t, ctxs["server"], 7)
	msg := bytes.Repeat([]byte("0123456789"), 10_000) // 100 KB: several chunks
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fd, _ := s.Socket()
		if err := s.ConnectName(fd, "server", 7); err != nil {
			t.Error(err)
			return
		}
		// The message is written by a task of its own while this one
		// reads: echoed bytes the client did not read would hold the
		// echo, and so the write, once they fill the windows (which
		// start small: window.go).
		written := make(chan struct{})
		if err := s.Scheduler().Schedule(func() {
			defer close(written)
			if n, err := s.Write(fd, msg); err != nil || n != len(msg) {
				t.Errorf("write: %d, %v", n, err)
				return
			}
			// Half-close: the server sees EOF after the data, echoes it
			// all and closes; we still read everything it sends.
			if err := s.Shutdown(fd, syscall.SHUT_WR); err != nil {
				t.Error(err)
			}
			if _, err := s.Write(fd, []byte("x")); !errors.Is(err, EPIPE) {
				t.Errorf("write after SHUT_WR: %v, want EPIPE", err)
			}
		}); err != nil {
			t.Error(err)
			return
		}
		defer s.block(written)
		var got []byte
		buf := make([]byte, 777) // smaller than a chunk: partial reads
		reads := 0
		for {
			n, err := s.Read(fd, buf)
			got = append(got, buf[:n]...)
			reads++
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
		if !bytes.Equal(got, msg) {
			t.Errorf("echo: got %d bytes, want %d", len(got), len(msg))
		}
		if reads < len(msg)/777 {
			t.Errorf("only %d reads for %d bytes in 777-byte reads", reads, len(msg))
		}
		if n, err := s.Read(fd, buf); n != 0 || err != io.EOF {
			t.Errorf("read after EOF: %d, %v", n, err)
		}
		if err := s.Close(fd); err != nil {
			t.Error(err)
		}
		if _, err := s.Read(fd, buf); !errors.Is(err, EBADF) {
			t.Errorf("read after close: %v, want EBADF", err)
		}
	}), "client")
}

func TestSocketManyConcurrentSessions(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	echoServer(t, ctxs["server"], 11211)
	const sessions = 64
	var dones []<-chan struct{}
	ids := map[uint64]bool{}
	for i := 0; i < sessions; i++ {
		dones = append(dones, spawn(t, ctxs["client"], func(s *Sys) {
			fd, _ := s.Socket()
			if err := s.ConnectName(fd, "server", 11211); err != nil {
				t.Error(err)
				return
			}
			_, sid, _ := s.Session(fd)
			ids[sid] = true
			want := []byte(fmt.Sprintf("session %d says hello %s", i, bytes.Repeat([]byte{'!'}, i*100)))
			if _, err := s.Write(fd, want); err != nil {
				t.Error(err)
				return
			}
			got := make([]byte, len(want))
			if _, err := io.ReadFull(reader{s, fd}, got); err != nil || !bytes.Equal(got, want) {
				t.Errorf("session %d: %q, %v", i, got, err)
			}
			s.Close(fd)
		}))
	}
	for i, d := range dones {
		wait(t, d, fmt.Sprintf("session %d", i))
	}
	wait(t, spawn(t, ctxs["client"], func(*Sys) {
		if len(ids) != sessions {
			t.Errorf("%d distinct session ids for %d sessions", len(ids), sessions)
		}
	}), "check")
}

// reader adapts a descriptor to io.Reader inside a task.
type reader struct {
	s  *Sys
	fd int
}

func (r reader) Read(p []byte) (int, error) { return r.s.Read(r.fd, p) }

func TestSocketNonBlocking(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	lfd := listen(t, ctxs["server"], 9)
	srvID := ctxs["server"].ID()
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		s.SetNonblock(lfd, true)
		if _, _, err := s.Accept(lfd); !errors.Is(err, EAGAIN) {
			t.Errorf("accept with no pending connection: %v, want EAGAIN", err)
		}
	}), "accept")
	var cfd int
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		cfd, _ = s.Socket()
		s.SetNonblock(cfd, true)
		if err := s.Connect(cfd, srvID, 9); !errors.Is(err, EINPROGRESS) {
			t.Errorf("non-blocking connect: %v, want EINPROGRESS", err)
		}
		// Poll for writability: the connect completes.
		fds := []PollFd{{Fd: cfd, Events: PollOut}}
		if n, err := s.Poll(fds, 5*time.Second); n != 1 || err != nil || fds[0].Revents&PollOut == 0 {
			t.Errorf("poll for connect: %d %v %v", n, fds[0].Revents, err)
		}
		if _, err := s.Read(cfd, make([]byte, 10)); !errors.Is(err, EAGAIN) {
			t.Errorf("read with no data: %v, want EAGAIN", err)
		}
	}), "connect")
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		fds := []PollFd{{Fd: lfd, Events: PollIn}}
		if n, _ := s.Poll(fds, 5*time.Second); n != 1 {
			t.Errorf("listener not readable")
			return
		}
		fd, peer, err := s.Accept(lfd)
		if err != nil || peer != ctxs["client"].ID() {
			t.Errorf("accept: %v from %s", err, peer)
			return
		}
		s.Write(fd, []byte("hi"))
	}), "accept 2")
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fds := []PollFd{{Fd: cfd, Events: PollIn}}
		if n, _ := s.Poll(fds, 5*time.Second); n != 1 {
			t.Error("client not readable")
		}
		buf := make([]byte, 10)
		if n, err := s.Read(cfd, buf); n != 2 || err != nil {
			t.Errorf("read: %d %v", n, err)
		}
	}), "read")
}

func TestSocketRefusedAndReset(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	lfd := listen(t, ctxs["server"], 1)
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fd, _ := s.Socket()
		if err := s.ConnectName(fd, "server", 2); !errors.Is(err, ECONNREFUSED) {
			t.Errorf("connect to a port nobody listens on: %v", err)
		}
		fd2, _ := s.Socket()
		if err := s.ConnectName(fd2, "nobody", 1); !errors.Is(err, ECONNREFUSED) || !errors.Is(err, diggi.ErrUnknownAgent) {
			t.Errorf("connect to unknown agent: %v", err)
		}
		fd3, _ := s.Socket()
		if err := s.ConnectName(fd3, "server", 1); err != nil {
			t.Error(err)
			return
		}
		s.Write(fd3, []byte("unread data"))
	}), "client")
	// The server accepts and closes with the data unread: a reset.
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		fd, _, err := s.Accept(lfd)
		if err != nil {
			t.Error(err)
			return
		}
		for s.PollFD(fd)&PollIn == 0 {
			s.Poll([]PollFd{{Fd: fd, Events: PollIn}}, time.Second)
		}
		s.Close(fd)
	}), "server")
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fd := 5 // the third socket the client opened
		buf := make([]byte, 4)
		_, err := s.Read(fd, buf)
		if !errors.Is(err, ECONNRESET) {
			t.Errorf("read after peer closed with unread data: %v, want ECONNRESET", err)
		}
	}), "client reads reset")
}

// A slow reader holds a fast writer back: the receive buffer never exceeds
// the window and every byte arrives in order.
func TestSocketFlowControl(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	For(ctxs["server"]) // created in Init already; set a small window
	wait(t, spawn(t, ctxs["server"], func(s *Sys) { s.RecvBuffer = 4096 }), "config")
	lfd := listen(t, ctxs["server"], 5)
	const total = 1 << 20
	done := spawn(t, ctxs["server"], func(s *Sys) {
		fd, _, err := s.Accept(lfd)
		if err != nil {
			t.Error(err)
			return
		}
		sk := s.fds.at(fd).(*socket)
		buf := make([]byte, 1000)
		var next byte
		got := 0
		for {
			if sk.rqLen > sk.rcvBuf {
				t.Errorf("receive buffer %d above window %d", sk.rqLen, sk.rcvBuf)
				return
			}
			n, err := s.Read(fd, buf)
			for _, b := range buf[:n] {
				if b != next {
					t.Errorf("byte %d: got %d want %d", got, b, next)
					return
				}
				next++
				got++
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Error(err)
				return
			}
			s.Scheduler().Yield()
		}
		if got != total {
			t.Errorf("got %d bytes, want %d", got, total)
		}
	})
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fd, _ := s.Socket()
		if err := s.ConnectName(fd, "server", 5); err != nil {
			t.Error(err)
			return
		}
		data := make([]byte, total)
		for i := range data {
			data[i] = byte(i)
		}
		if n, err := s.Writev(fd, [][]byte{data[:1000], data[1000:]}); n != total || err != nil {
			t.Errorf("writev: %d %v", n, err)
		}
		s.Close(fd)
	}), "writer")
	wait(t, done, "reader")
}

// A connection carries the origin its initiator declared to the acceptor;
// one that declared none arrives with the zero Origin.
func TestSocketOrigin(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	lfd := listen(t, ctxs["server"], 1)
	want := Origin{Peer: "tcp:127.0.0.1:57538", Local: "tcp:127.0.0.1:11211"}
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fd, _ := s.Socket()
		if err := s.SetOrigin(fd, Origin{Peer: strings.Repeat("x", maxOriginField+1)}); !errors.Is(err, EINVAL) {
			t.Errorf("SetOrigin with a 256-byte peer: %v, want EINVAL", err)
		}
		if err := s.SetOrigin(fd, Origin{Peer: "tcp:1.2.3.4:5\r\nSTAT forged 1"}); !errors.Is(err, EINVAL) {
			t.Errorf("SetOrigin with a line break: %v, want EINVAL", err)
		}
		if err := s.SetOrigin(fd, want); err != nil {
			t.Error(err)
		}
		if err := s.ConnectName(fd, "server", 1); err != nil {
			t.Error(err)
			return
		}
		if err := s.SetOrigin(fd, Origin{}); !errors.Is(err, EISCONN) {
			t.Errorf("SetOrigin after Connect: %v, want EISCONN", err)
		}
		plain, _ := s.Socket()
		if err := s.ConnectName(plain, "server", 1); err != nil {
			t.Error(err)
		}
	}), "client")
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		if _, err := s.Origin(lfd); !errors.Is(err, ENOTCONN) {
			t.Errorf("Origin of a listener: %v, want ENOTCONN", err)
		}
		for i, w := range []Origin{want, {}} {
			fd, _, err := s.Accept(lfd)
			if err != nil {
				t.Error(err)
				return
			}
			if got, err := s.Origin(fd); err != nil || got != w {
				t.Errorf("connection %d: Origin = %+v, %v; want %+v", i, got, err, w)
			}
		}
	}), "server")
}
