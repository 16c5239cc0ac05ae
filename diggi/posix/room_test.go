package posix

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testdiggi"
)

// Close must never hand the agent's baton away, even when its FIN finds
// the outbound queue full: another task running inside Close (the
// gateway's reply flush, say) would find the caller's state half changed.
// The FIN waits for room in order behind the data and arrives after it.
func TestCloseNeverHandsTheBatonAway(t *testing.T) {
	reg := diggi.NewRegistry()
	if err := reg.Register("nop", func() diggi.Agent { return nopAgent{} }); err != nil {
		t.Fatal(err)
	}
	cfg := diggi.Config{Instance: "room", QueueSize: 4, Agents: []diggi.AgentConfig{{Name: "a", Kind: "nop"}, {Name: "b", Kind: "nop"}}}
	in := testdiggi.Start(t, cfg, diggi.InstanceOptions{Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	actx, _ := in.Context("a")
	bctx, _ := in.Context("b")
	wait(t, spawn(t, bctx, func(s *Sys) { s.RecvBuffer = 16 << 20 }), "window")
	lfd := listen(t, bctx, 9)
	fd := -1
	wait(t, spawn(t, actx, func(s *Sys) {
		var err error
		if fd, err = s.Socket(); err == nil {
			err = s.ConnectName(fd, "b", 9)
		}
		if err != nil {
			t.Error(err)
		}
	}), "connect")

	// b grants a 16 MB window at once (a window grows only as its reader
	// drains, window.go), so that a's writes stop for lack of queue room,
	// not of window.
	wait(t, spawn(t, bctx, func(s *Sys) {
		for _, sk := range s.conns {
			d := s.RecvBuffer - sk.rcvBuf
			sk.rcvBuf += d
			sk.rcvWant = sk.rcvBuf
			s.credit(sk, d)
		}
	}), "grant")
	wait(t, spawn(t, actx, func(s *Sys) {
		sk, err := s.socket("wait", fd)
		for err == nil && sk.sendWnd < 1<<20 {
			err = s.block(sk.wait())
		}
		if err != nil {
			t.Error(err)
		}
	}), "window grant")

	// b holds its baton, so nothing it is sent is taken off the queues.
	hold := make(chan struct{})
	bheld := make(chan struct{})
	bctx.Scheduler().Schedule(func() { close(bheld); <-hold })
	<-bheld
	var sent bytes.Buffer
	closed := spawn(t, actx, func(s *Sys) {
		s.SetNonblock(fd, true)
		chunk := bytes.Repeat([]byte("x"), maxChunk)
		for i := 0; ; i++ {
			n, err := s.Write(fd, chunk)
			sent.Write(chunk[:n])
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			if err != nil || i > 1000 {
				t.Errorf("write %d: %v (the queue never filled)", i, err)
				return
			}
		}
		ran := false
		s.sched.Schedule(func() { ran = true })
		if err := s.Close(fd); err != nil {
			t.Error(err)
		}
		if ran {
			t.Error("another task ran inside Close: it handed the baton away")
		}
		if len(s.unsent) == 0 {
			t.Error("the FIN found room: the test did not fill the queue")
		}
	})
	// A Close that waits for room would wait for b forever: let b go
	// after a while, so that it fails rather than hangs.
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
	}
	close(hold)
	wait(t, closed, "fill and close")

	var got []byte
	wait(t, spawn(t, bctx, func(s *Sys) {
		cfd, _, err := s.Accept(lfd)
		if err != nil {
			t.Error(err)
			return
		}
		got, err = io.ReadAll(reader{s, cfd})
		if err != nil {
			t.Error(err)
		}
	}), "read to EOF")
	if !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("read %d bytes before EOF, %d were written", len(got), sent.Len())
	}
}
