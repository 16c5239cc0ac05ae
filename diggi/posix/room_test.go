package posix

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
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

// A write refused for lack of room keeps the window grant it would have
// carried. The grant is the only way the reader's consumed bytes reach
// the peer; one lost stays lost, and enough of them close the peer's
// window for good, stalling a one-way flow (a large upload, a large
// reply). The refusal here is the narrow one: the write's own segment
// needs room after the corked batch it flushes, and the batch takes the
// last slot.
func TestRefusedWriteKeepsItsGrant(t *testing.T) {
	// The router freezes the mover on the client's first regular message
	// after freeze is set, so the client's outbound queue is emptied and
	// then held still: the test knows exactly how much room is left.
	var freeze atomic.Bool
	frozen, gate := make(chan struct{}), make(chan struct{})
	router := diggi.RouterFunc(func(m *diggi.Message, fwd diggi.Forwarder) {
		if m.Type == diggi.TypeRegular && freeze.CompareAndSwap(true, false) {
			close(frozen)
			<-gate
		}
		_ = fwd.Forward(m)
	})
	reg := diggi.NewRegistry()
	if err := reg.Register("nop", func() diggi.Agent { return nopAgent{} }); err != nil {
		t.Fatal(err)
	}
	const queue = 8 // a power of two: the queue's exact capacity
	cfg := diggi.Config{Instance: "grant", QueueSize: queue, Agents: []diggi.AgentConfig{{Name: "server", Kind: "nop"}, {Name: "client", Kind: "nop"}}}
	in := testdiggi.Start(t, cfg, diggi.InstanceOptions{Registry: reg, Router: router, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(open) // runs before the instance stops
	ctxs := map[string]*diggi.Context{}
	ctxs["server"], _ = in.Context("server")
	ctxs["client"], _ = in.Context("client")
	server, _ := ctxs["client"].Directory().Lookup("server")
	cfds, sfds := windowPair(t, ctxs, 31, 2)
	a, b := cfds[0], cfds[1]

	// b's peer sends it less than a quarter window, which b reads: the
	// grant for it waits to ride on b's next data segment.
	const sent = 1000
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		if n, err := s.Write(sfds[1], make([]byte, sent)); n != sent {
			t.Errorf("server write: %d, %v", n, err)
		}
	}), "server write")
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		s.SetNonblock(b, false)
		if _, err := io.ReadFull(readerOf(s, b), make([]byte, sent)); err != nil {
			t.Error(err)
		}
		if sk := s.fds.at(b).(*socket); sk.consumed != sent {
			t.Errorf("b holds a grant of %d, want %d (sent alone?)", sk.consumed, sent)
		}
		freeze.Store(true)
		if err := s.Context().Messages().TryPost(server.ID, diggi.TypeRegular, 0, []byte("freeze")); err != nil {
			t.Error(err)
		}
	}), "read and freeze")
	wait(t, frozen, "the mover to freeze")

	big := make([]byte, maxBatched+4<<10) // too big to batch
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		// All but one slot taken; a's small write is batched, and b's
		// large one flushes the batch into the last slot.
		for i := range queue - 1 {
			if err := s.Context().Messages().TryPost(server.ID, diggi.TypeRegular, 0, []byte("filler")); err != nil {
				t.Errorf("filler %d: %v", i, err)
				return
			}
		}
		s.Cork()
		if n, err := s.Write(a, []byte("small")); n != 5 {
			t.Errorf("corked small write: %d, %v", n, err)
		}
		s.SetNonblock(b, true)
		if n, err := s.Write(b, big); n != 0 || !errors.Is(err, syscall.EAGAIN) {
			t.Errorf("write after the batch took the last slot: %d, %v; want 0, EAGAIN (the test did not reach the refusal)", n, err)
		}
		s.Uncork()
	}), "refused write")
	open()

	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		s.SetNonblock(b, false)
		if n, err := s.Write(b, big); n != len(big) {
			t.Errorf("write once room came: %d, %v", n, err)
		}
	}), "write again")
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		s.SetNonblock(sfds[1], false)
		// The grant rides on the segment that brings this data.
		if _, err := io.ReadFull(readerOf(s, sfds[1]), make([]byte, len(big))); err != nil {
			t.Error(err)
		}
		if sk := s.fds.at(sfds[1]).(*socket); sk.sendWnd != minWindow {
			t.Errorf("server's send window is %d after the client read all %d bytes it was sent, want %d: the refused write lost the grant", sk.sendWnd, sent, minWindow)
		}
	}), "read and check the window")
}
