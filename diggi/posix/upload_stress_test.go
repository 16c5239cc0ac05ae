package posix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testdiggi"
)

// TestUploadStress is the other half of the wake-up stress: bulk uploads
// with the reverse direction idle, as a 1 MB set travels from the gateway
// to the cache agent, so no window grant can ride on data going back and
// every grant must go as a message of its own. Windows start small and
// grow while the sink drains a bulk flow at a random pace (some reads
// small, some large, some after a pause on a timer), within a random
// per-agent budget, and shrink while some uploaders trickle small pieces
// with pauses before their next bulk; queues are small, so writes meet
// closed windows, full queues and window transitions in every order.
// (TestWakeupStress's windows are too small to grow, and its echo sends
// data back, on which grants ride.) Only after its whole
// upload does a sink answer, with the count and checksum it received. A
// lost grant or wake-up leaves an upload stuck, and the round fails on
// its time bound naming its seed; DIGGI_STRESS_SEED replays one.
func TestUploadStress(t *testing.T) {
	for _, seed := range stressSeeds(t, 23000) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { uploadRound(t, seed) })
	}
}

func uploadRound(t *testing.T, seed uint64) {
	reg := diggi.NewRegistry()
	if err := reg.Register("nop", func() diggi.Agent { return nopAgent{} }); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	queue := []int{4, 8, 64}[rng.IntN(3)]
	cfg := diggi.Config{Instance: "upload", QueueSize: queue, Agents: []diggi.AgentConfig{{Name: "server", Kind: "nop"}, {Name: "client", Kind: "nop"}}}
	in := testdiggi.Start(t, cfg, diggi.InstanceOptions{Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	sctx, _ := in.Context("server")
	cctx, _ := in.Context("client")

	srng := rand.New(rand.NewPCG(seed, 1))
	crng := rand.New(rand.NewPCG(seed, 2))
	const port = 9
	wait(t, spawn(t, sctx, func(s *Sys) {
		// The default bound most of the time (windows grow from 32 KB to
		// 256 KB), a budget that lets a few windows grow or none.
		if srng.IntN(4) == 0 {
			s.RecvBuffer = 1<<10 + srng.IntN(300<<10)
		}
		s.WindowBudget = srng.IntN(1 << 20)
		startSink(t, s, srng, port)
	}), "sink")

	const sessions = 8
	done := make(chan error, sessions)
	spawn(t, cctx, func(s *Sys) {
		for i := range sessions {
			data := make([]byte, 128<<10+crng.IntN(1<<20))
			for j := range data {
				data[j] = byte(crng.Uint32())
			}
			u := &uploader{stressWriter: stressWriter{s: s, rng: crng, data: data, style: crng.IntN(3), done: done, name: fmt.Sprintf("upload %d", i)}}
			if crng.IntN(2) == 0 {
				u.trickleFrom = crng.IntN(len(data) / 2)
				u.trickleTo = u.trickleFrom + 64<<10 + crng.IntN(128<<10)
			}
			u.start(port)
		}
	})
	deadline := time.After(stressBound)
	for i := range sessions {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
		case <-deadline:
			t.Fatalf("seed %d: %d of %d uploads stuck after %v (a lost grant or wake-up); replay with DIGGI_STRESS_SEED=%d", seed, sessions-i, sessions, stressBound, seed)
		}
	}
}

// uploader sends its data as the gateway relays a client's request: in
// chunks of at most one segment, corked at random, each chunk offered
// until the socket took all of it, in one of the three ways a writer can
// wait; then it half-closes and reads the sink's answer.
type uploader struct {
	stressWriter
	chunk []byte // the part of the current chunk not yet taken
	reply []byte
	// Between trickleFrom and trickleTo the uploader sends small pieces
	// with pauses: its grown window drains without holding it back, so
	// the window shrinks (window.go) before the bulk that follows.
	trickleFrom, trickleTo int
	paused                 bool // a trickle piece went: wait before the next
}

// trickle reports whether the next piece is a trickle piece.
func (u *uploader) trickle() bool { return u.sent >= u.trickleFrom && u.sent < u.trickleTo }

// pause is how long the uploader waits after a trickle piece.
func (u *uploader) pause() time.Duration { return time.Duration(u.rng.IntN(300)) * time.Microsecond }

func (u *uploader) start(port uint16) {
	u.connect(port, u.onReply, u.onWritable, u.blocking, u.polling)
}

// pump offers chunks until one is refused or all data went; it reports
// false on a real error.
func (u *uploader) pump() bool {
	s := u.s
	if u.rng.IntN(2) == 0 {
		s.Cork()
		defer s.Uncork()
	}
	for len(u.chunk) > 0 || u.sent < len(u.data) {
		if len(u.chunk) == 0 {
			if u.trickle() {
				u.paused = true
				n := min(len(u.data)-u.sent, 1+u.rng.IntN(2<<10))
				u.chunk = u.data[u.sent : u.sent+n]
				u.sent += n
			} else {
				n := min(len(u.data)-u.sent, 1+u.rng.IntN(maxChunk))
				u.chunk = u.data[u.sent : u.sent+n]
				u.sent += n
			}
		}
		n, err := s.Write(u.fd, u.chunk)
		u.chunk = u.chunk[n:]
		if errors.Is(err, syscall.EAGAIN) {
			return true
		}
		if err != nil {
			u.fail(err)
			return false
		}
		if u.paused && len(u.chunk) == 0 {
			return true
		}
	}
	return true
}

// rest waits out a trickle pause in a blocking or polling task.
func (u *uploader) rest() {
	if u.paused {
		u.paused = false
		u.s.Poll(nil, u.pause())
	}
}

func (u *uploader) allSent() bool { return len(u.chunk) == 0 && u.sent == len(u.data) }

func (u *uploader) onWritable() {
	if !u.pump() {
		return
	}
	if u.allSent() {
		u.s.EventDel(&u.wev)
		u.finishWrites()
		return
	}
	if u.paused {
		u.paused = false
		u.s.EventDel(&u.wev)
		u.s.ctx.Messages().After(u.pause(), func(time.Time) {
			if !u.finished {
				u.s.EventAdd(&u.wev)
			}
		})
	}
}

func (u *uploader) blocking() {
	for !u.allSent() {
		if !u.pump() {
			return
		}
		u.rest()
	}
	u.finishWrites()
}

func (u *uploader) polling() {
	for !u.allSent() {
		fds := []PollFd{{Fd: u.fd, Events: PollOut}}
		if _, err := u.s.Poll(fds, -1); err != nil {
			u.fail(err)
			return
		}
		if fds[0].Revents&(PollErr|PollNval) != 0 {
			u.fail(fmt.Errorf("poll: %v", fds[0].Revents))
			return
		}
		if fds[0].Revents&PollOut != 0 && !u.pump() {
			return
		}
		u.rest()
	}
	u.finishWrites()
}

func (u *uploader) onReply() {
	buf := make([]byte, 64)
	n, err := u.s.Read(u.fd, buf)
	u.reply = append(u.reply, buf[:n]...)
	switch {
	case err == io.EOF:
		u.s.EventDel(&u.rev)
		u.s.Close(u.fd)
		want := sinkAnswer(u.data)
		if string(u.reply) != string(want) {
			u.fail(fmt.Errorf("sink answered %x, want %x (%d bytes sent)", u.reply, want, len(u.data)))
			return
		}
		if !u.finished {
			u.finished = true
			u.done <- nil
		}
	case err != nil && !errors.Is(err, syscall.EAGAIN):
		u.fail(err)
	}
}

// sinkAnswer is what a sink sends back for data: its length and CRC.
func sinkAnswer(data []byte) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(len(data))), crc32.ChecksumIEEE(data))
}

// startSink listens on port and reads each connection to its end at a
// random pace, in the cache agent's shape (a PERSIST read event, one read
// per callback), pausing now and then with the read event off (as a
// session does while its reply waits); at EOF it answers with what
// sinkAnswer makes of what it read and closes.
func startSink(t *testing.T, s *Sys, rng *rand.Rand, port uint16) {
	lfd, err := s.Socket()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(lfd, port, 64); err != nil {
		t.Fatal(err)
	}
	s.SetNonblock(lfd, true)
	listenEv := &Event{}
	s.EventSet(listenEv, lfd, EvRead|EvPersist, func(fd int, _ EvFlags) {
		cfd, _, err := s.Accept(fd)
		if err != nil {
			return
		}
		s.SetNonblock(cfd, true)
		var (
			rev   Event
			wev   Event
			n     int
			crc   uint32
			ended bool
		)
		resume := func(time.Time) {
			if !ended {
				s.EventAdd(&rev)
			}
		}
		s.EventSet(&rev, cfd, EvRead|EvPersist, func(int, EvFlags) {
			buf := make([]byte, 1+rng.IntN(64<<10))
			k, err := s.Read(cfd, buf)
			n += k
			crc = crc32.Update(crc, crc32.IEEETable, buf[:k])
			switch {
			case err == io.EOF:
				ended = true
				s.EventDel(&rev)
				// The answer waits for room like any reply.
				answer := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(n)), crc)
				s.EventSet(&wev, cfd, EvWrite|EvPersist, func(int, EvFlags) {
					w, err := s.Write(cfd, answer)
					answer = answer[w:]
					if errors.Is(err, syscall.EAGAIN) {
						return
					}
					if err != nil {
						t.Errorf("sink answer: %v", err)
					}
					if err != nil || len(answer) == 0 {
						s.EventDel(&wev)
						s.Close(cfd)
					}
				})
				s.EventAdd(&wev)
			case err != nil && !errors.Is(err, syscall.EAGAIN):
				ended = true
				s.EventDel(&rev)
				s.Close(cfd)
			case rng.IntN(8) == 0:
				// Pause: the input waits, the window stays closed.
				s.EventDel(&rev)
				s.ctx.Messages().After(time.Duration(rng.IntN(2000))*time.Microsecond, resume)
			}
		})
		s.EventAdd(&rev)
	})
	if err := s.EventAdd(listenEv); err != nil {
		t.Fatal(err)
	}
}
