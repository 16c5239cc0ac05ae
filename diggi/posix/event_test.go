package posix

import (
	"errors"
	"io"
	"testing"
	"time"
)

func TestEventOneShotVersusPersist(t *testing.T) {
	_, ctxs := boot(t, "a")
	ctx := ctxs["a"]
	var r, w int
	var oneShot, persist Event
	oneCalls, persistCalls := 0, 0
	var persistRead []byte
	wait(t, spawn(t, ctx, func(s *Sys) {
		var err error
		if r, w, err = s.Pipe(); err != nil {
			t.Fatal(err)
		}
		s.SetNonblock(r, true)
		s.EventSet(&oneShot, r, EvRead, func(fd int, what EvFlags) {
			oneCalls++
			if what != EvRead || fd != r {
				t.Errorf("one-shot callback: fd %d what %v", fd, what)
			}
		})
		s.EventSet(&persist, r, EvRead|EvPersist, func(fd int, what EvFlags) {
			persistCalls++
			// Read a little each time: messageDrain must reschedule us
			// until the pipe is empty.
			buf := make([]byte, 3)
			n, _ := s.Read(fd, buf)
			persistRead = append(persistRead, buf[:n]...)
		})
		if err := s.EventAdd(&oneShot); err != nil {
			t.Fatal(err)
		}
		if err := s.EventAdd(&persist); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(w, []byte("hello world")); err != nil {
			t.Fatal(err)
		}
	}), "setup")
	// The callbacks are tasks queued behind the setup task; a later task
	// sees their results.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got string
		var calls1, callsP int
		wait(t, spawn(t, ctx, func(s *Sys) { got, calls1, callsP = string(persistRead), oneCalls, persistCalls }), "check")
		if got == "hello world" {
			if calls1 != 1 {
				t.Errorf("one-shot event ran %d times, want 1", calls1)
			}
			if callsP != 4 { // 3+3+3+2 bytes
				t.Errorf("persistent event ran %d times, want 4", callsP)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("persistent event drained %q", got)
		}
		time.Sleep(time.Millisecond)
	}
	wait(t, spawn(t, ctx, func(s *Sys) {
		if oneShot.Pending() {
			t.Error("one-shot event still pending after it fired")
		}
		if !persist.Pending() {
			t.Error("persistent event not pending")
		}
		// A second write fires only the persistent event; after EventDel
		// nothing fires.
		s.Write(w, []byte("ab"))
	}), "second write")
	wait(t, spawn(t, ctx, func(s *Sys) {
		if oneCalls != 1 || string(persistRead) != "hello worldab" {
			t.Errorf("after second write: one-shot %d, read %q", oneCalls, persistRead)
		}
		s.EventDel(&persist)
		s.Write(w, []byte("zz"))
	}), "del")
	wait(t, spawn(t, ctx, func(s *Sys) {
		if string(persistRead) != "hello worldab" {
			t.Errorf("deleted event still fired: %q", persistRead)
		}
	}), "after del")
}

// A persistent callback that does not consume must not spin the agent.
func TestEventPersistWithoutProgressDoesNotSpin(t *testing.T) {
	_, ctxs := boot(t, "a")
	calls := 0
	var ev Event
	wait(t, spawn(t, ctxs["a"], func(s *Sys) {
		r, w, _ := s.Pipe()
		s.EventSet(&ev, r, EvRead|EvPersist, func(int, EvFlags) { calls++ })
		s.EventAdd(&ev)
		s.Write(w, []byte("x"))
	}), "setup")
	time.Sleep(50 * time.Millisecond)
	wait(t, spawn(t, ctxs["a"], func(s *Sys) {
		if calls != 1 {
			t.Errorf("non-consuming persistent callback ran %d times, want 1", calls)
		}
	}), "check")
}

func TestPipeBlockingAcrossTasksAndEOF(t *testing.T) {
	_, ctxs := boot(t, "a")
	ctx := ctxs["a"]
	var r, w int
	wait(t, spawn(t, ctx, func(s *Sys) { r, w, _ = s.Pipe() }), "pipe")
	// A reader task blocks; a writer task (which can only run because the
	// reader released the baton) fills more than the ring holds.
	big := make([]byte, 3*DefaultPipeSize+5)
	for i := range big {
		big[i] = byte(i % 251)
	}
	readDone := spawn(t, ctx, func(s *Sys) {
		got, err := io.ReadAll(reader{s, r})
		if err != nil || len(got) != len(big) {
			t.Errorf("read %d bytes, %v", len(got), err)
			return
		}
		for i := range got {
			if got[i] != big[i] {
				t.Errorf("byte %d differs", i)
				return
			}
		}
	})
	wait(t, spawn(t, ctx, func(s *Sys) {
		if n, err := s.Write(w, big); n != len(big) || err != nil {
			t.Errorf("write %d, %v", n, err)
		}
		s.Close(w)
	}), "writer")
	wait(t, readDone, "reader")
	wait(t, spawn(t, ctx, func(s *Sys) {
		r2, w2, _ := s.Pipe()
		s.Close(r2)
		if _, err := s.Write(w2, []byte("x")); !errors.Is(err, EPIPE) {
			t.Errorf("write to pipe without reader: %v, want EPIPE", err)
		}
		if _, err := s.Read(w2, make([]byte, 1)); !errors.Is(err, EBADF) {
			t.Errorf("read from write end: %v, want EBADF", err)
		}
		h, _ := s.Handle(w2)
		if h.Type() != HandlePipe {
			t.Errorf("handle type %v", h.Type())
		}
	}), "epipe")
}

func TestHandleRegisterEvent(t *testing.T) {
	_, ctxs := boot(t, "a")
	got := make(chan Events, 4)
	wait(t, spawn(t, ctxs["a"], func(s *Sys) {
		r, w, _ := s.Pipe()
		h, _ := s.Handle(r)
		h.RegisterEvent(func(ev Events) {
			got <- ev
			buf := make([]byte, 10)
			s.SetNonblock(r, true)
			s.Read(r, buf)
		}, true)
		s.Write(w, []byte("ping"))
	}), "setup")
	select {
	case ev := <-got:
		if ev&PollIn == 0 {
			t.Errorf("registered event saw %v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("registered event never ran")
	}
}

func TestPollTimeout(t *testing.T) {
	_, ctxs := boot(t, "a")
	wait(t, spawn(t, ctxs["a"], func(s *Sys) {
		r, _, _ := s.Pipe()
		start := time.Now()
		n, err := s.Poll([]PollFd{{Fd: r, Events: PollIn}, {Fd: 999, Events: PollIn}}, 0)
		if n != 1 || err != nil {
			t.Errorf("poll with a bad fd: %d %v (want PollNval counted)", n, err)
		}
		n, err = s.Poll([]PollFd{{Fd: r, Events: PollIn}}, 30*time.Millisecond)
		if n != 0 || err != nil || time.Since(start) < 30*time.Millisecond {
			t.Errorf("poll timeout: %d %v after %v", n, err, time.Since(start))
		}
	}), "poll")
}
