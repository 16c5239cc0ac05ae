package posix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testdiggi"
)

// TestWakeupStress drives the room and window wake-ups (room.go) through
// many interleavings: agent "client" streams pseudo-random data over many
// sockets to an echo server in memcached's event shape on agent "server",
// with queues of four messages and small random windows, so that nearly
// every write meets a full queue or a closed window in one direction or
// the other. Each client socket writes in one of the three ways a writer
// can wait (a PERSIST write event, a blocking write, Poll), corks bursts
// at random, and checks the echo byte for byte. A lost wake-up leaves a
// session stuck, and the round fails on its time bound naming its seed.
//
// The seed fixes every choice the agents make (sizes, styles, windows,
// corking); the goroutine schedule varies from run to run, which is what
// the rounds and the race detector are for. Replay one round with
// DIGGI_STRESS_SEED=<seed> (and -count to repeat it).
func TestWakeupStress(t *testing.T) {
	for _, seed := range stressSeeds(t, 19000) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { wakeupRound(t, seed) })
	}
}

// stressSeeds is the seed DIGGI_STRESS_SEED names, or a run's rounds
// from base on.
func stressSeeds(t *testing.T, base uint64) []uint64 {
	if v := os.Getenv("DIGGI_STRESS_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DIGGI_STRESS_SEED=%q: %v", v, err)
		}
		return []uint64{seed}
	}
	rounds := 12
	if testing.Short() {
		rounds = 3
	}
	seeds := make([]uint64, rounds)
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	return seeds
}

// stressBound is how long a round may take: far more than one needs (a
// fraction of a second, several under -race), so only a stall fails it.
const stressBound = 30 * time.Second

func wakeupRound(t *testing.T, seed uint64) {
	reg := diggi.NewRegistry()
	if err := reg.Register("nop", func() diggi.Agent { return nopAgent{} }); err != nil {
		t.Fatal(err)
	}
	cfg := diggi.Config{Instance: "stress", QueueSize: 4, Agents: []diggi.AgentConfig{{Name: "server", Kind: "nop"}, {Name: "client", Kind: "nop"}}}
	in := testdiggi.Start(t, cfg, diggi.InstanceOptions{Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	sctx, _ := in.Context("server")
	cctx, _ := in.Context("client")

	srng := rand.New(rand.NewPCG(seed, 1))
	crng := rand.New(rand.NewPCG(seed, 2))
	const port = 7
	wait(t, spawn(t, sctx, func(s *Sys) {
		s.RecvBuffer = 1<<10 + srng.IntN(16<<10)
		startStressEcho(t, s, srng, port)
	}), "echo server")

	const sessions = 24
	done := make(chan error, sessions)
	spawn(t, cctx, func(s *Sys) {
		s.RecvBuffer = 1<<10 + crng.IntN(16<<10)
		for i := range sessions {
			data := make([]byte, 16<<10+crng.IntN(96<<10))
			for j := range data {
				data[j] = byte(crng.Uint32())
			}
			w := &stressWriter{s: s, rng: crng, data: data, style: crng.IntN(3), done: done, name: fmt.Sprintf("session %d", i)}
			w.start(port)
		}
	})
	deadline := time.After(stressBound)
	for i := 0; i < sessions; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
		case <-deadline:
			t.Fatalf("seed %d: %d of %d sessions stuck after %v (a lost wake-up); replay with DIGGI_STRESS_SEED=%d", seed, sessions-i, sessions, stressBound, seed)
		}
	}
}

// stressWriter is one client session: it writes data in random pieces,
// in its style, and reads the echo back through a PERSIST read event.
type stressWriter struct {
	s        *Sys
	rng      *rand.Rand
	name     string
	fd       int
	data     []byte
	sent     int
	got      []byte
	style    int // 0: PERSIST write event, 1: blocking writes, 2: Poll
	rev, wev Event
	done     chan<- error
	finished bool
}

func (w *stressWriter) fail(err error) {
	if !w.finished {
		w.finished = true
		w.done <- fmt.Errorf("%s (style %d): %w", w.name, w.style, err)
	}
}

func (w *stressWriter) start(port uint16) {
	w.connect(port, w.onRead, w.onWritable, w.blockingWrites, w.pollWrites)
}

// connect opens w's socket to the server, reads through a PERSIST read
// event (onRead), and writes in w's style: onWritable from a PERSIST
// write event, blocking or polling as a scheduled task.
func (w *stressWriter) connect(port uint16, onRead, onWritable, blocking, polling func()) {
	s := w.s
	fd, err := s.Socket()
	if err != nil {
		w.fail(err)
		return
	}
	w.fd = fd
	if err := s.ConnectName(fd, "server", port); err != nil {
		w.fail(err)
		return
	}
	s.EventSet(&w.rev, fd, EvRead|EvPersist, func(int, EvFlags) { onRead() })
	if err := s.EventAdd(&w.rev); err != nil {
		w.fail(err)
		return
	}
	switch w.style {
	case 0:
		s.SetNonblock(fd, true)
		s.EventSet(&w.wev, fd, EvWrite|EvPersist, func(int, EvFlags) { onWritable() })
		if err := s.EventAdd(&w.wev); err != nil {
			w.fail(err)
		}
	case 1:
		s.sched.Schedule(blocking)
	case 2:
		s.SetNonblock(fd, true)
		s.sched.Schedule(polling)
	}
}

// piece is the next random piece of data to write.
func (w *stressWriter) piece() []byte {
	n := min(len(w.data)-w.sent, 1+w.rng.IntN(12<<10))
	return w.data[w.sent : w.sent+n]
}

// writeSome writes a few pieces, corked at random, until one is refused;
// it reports false on a real error.
func (w *stressWriter) writeSome() bool {
	s := w.s
	cork := w.rng.IntN(2) == 0
	if cork {
		s.Cork()
		defer s.Uncork()
	}
	for k := 1 + w.rng.IntN(4); k > 0 && w.sent < len(w.data); k-- {
		n, err := s.Write(w.fd, w.piece())
		w.sent += n
		if errors.Is(err, syscall.EAGAIN) {
			return true
		}
		if err != nil {
			w.fail(err)
			return false
		}
	}
	return true
}

func (w *stressWriter) finishWrites() {
	if err := w.s.Shutdown(w.fd, syscall.SHUT_WR); err != nil {
		w.fail(err)
	}
}

func (w *stressWriter) onWritable() {
	if !w.writeSome() {
		return
	}
	if w.sent == len(w.data) {
		w.s.EventDel(&w.wev)
		w.finishWrites()
	}
}

func (w *stressWriter) blockingWrites() {
	for w.sent < len(w.data) {
		if !w.writeSome() {
			return
		}
	}
	w.finishWrites()
}

func (w *stressWriter) pollWrites() {
	for w.sent < len(w.data) {
		fds := []PollFd{{Fd: w.fd, Events: PollOut}}
		if _, err := w.s.Poll(fds, -1); err != nil {
			w.fail(err)
			return
		}
		if fds[0].Revents&(PollErr|PollNval) != 0 {
			w.fail(fmt.Errorf("poll: %v", fds[0].Revents))
			return
		}
		if fds[0].Revents&PollOut != 0 && !w.writeSome() {
			return
		}
	}
	w.finishWrites()
}

func (w *stressWriter) onRead() {
	buf := make([]byte, 1+w.rng.IntN(8<<10))
	n, err := w.s.Read(w.fd, buf)
	w.got = append(w.got, buf[:n]...)
	switch {
	case err == io.EOF:
		w.s.EventDel(&w.rev)
		w.s.Close(w.fd)
		if !bytes.Equal(w.got, w.data) {
			w.fail(fmt.Errorf("echo differs: got %d bytes, sent %d", len(w.got), len(w.data)))
			return
		}
		if !w.finished {
			w.finished = true
			w.done <- nil
		}
	case err != nil && !errors.Is(err, syscall.EAGAIN):
		w.fail(err)
	}
}

// startStressEcho listens on port and echoes every connection in the
// cache agent's shape: read while there is nothing to send back, write
// what fits, and wait for a write event (input paused) when a write is
// refused; a corked burst ends in a task queued behind it.
func startStressEcho(t *testing.T, s *Sys, rng *rand.Rand, port uint16) {
	lfd, err := s.Socket()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(lfd, port, 64); err != nil {
		t.Fatal(err)
	}
	s.SetNonblock(lfd, true)
	listenEv := &Event{}
	corked := false
	uncork := func() { corked = false; s.Uncork() }
	s.EventSet(listenEv, lfd, EvRead|EvPersist, func(fd int, _ EvFlags) {
		cfd, _, err := s.Accept(fd)
		if err != nil {
			return
		}
		s.SetNonblock(cfd, true)
		e := &stressEcho{s: s, fd: cfd}
		var flush func()
		flush = func() {
			if !corked && rng.IntN(2) == 0 && s.sched.Schedule(uncork) == nil {
				corked = true
				s.Cork()
			}
			for len(e.out) > 0 {
				n, err := s.Write(cfd, e.out[:min(len(e.out), 1+rng.IntN(16<<10))])
				e.out = e.out[n:]
				if errors.Is(err, syscall.EAGAIN) {
					break
				}
				if err != nil {
					e.close()
					return
				}
			}
			if len(e.out) > 0 {
				s.EventDel(&e.rev)
				s.EventAdd(&e.wev)
				return
			}
			e.out = nil
			if e.eof {
				e.close()
				return
			}
			if !e.rev.Pending() {
				s.EventAdd(&e.rev)
			}
		}
		s.EventSet(&e.rev, cfd, EvRead|EvPersist, func(int, EvFlags) {
			buf := make([]byte, 1+rng.IntN(24<<10))
			n, err := s.Read(cfd, buf)
			e.out = append(e.out, buf[:n]...)
			if err == io.EOF {
				e.eof = true
			} else if err != nil && !errors.Is(err, syscall.EAGAIN) {
				e.close()
				return
			}
			flush()
		})
		s.EventSet(&e.wev, cfd, EvWrite|EvPersist, func(int, EvFlags) {
			s.EventDel(&e.wev)
			flush()
		})
		s.EventAdd(&e.rev)
	})
	if err := s.EventAdd(listenEv); err != nil {
		t.Fatal(err)
	}
}

type stressEcho struct {
	s        *Sys
	fd       int
	out      []byte
	eof      bool
	closed   bool
	rev, wev Event
}

func (e *stressEcho) close() {
	if e.closed {
		return
	}
	e.closed = true
	e.s.EventDel(&e.rev)
	e.s.EventDel(&e.wev)
	e.s.Close(e.fd)
}
