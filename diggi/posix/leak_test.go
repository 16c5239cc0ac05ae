package posix

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Stopping an instance while its agents are blocked in accept, read and
// poll, with connections open and events pending, ends every goroutine.
func TestStopWithBlockedCallsLeaksNothing(t *testing.T) {
	in, ctxs := boot(t, "server", "client")
	echoServer(t, ctxs["server"], 7)
	connected := make(chan struct{})
	spawn(t, ctxs["client"], func(s *Sys) {
		fd, _ := s.Socket()
		if err := s.ConnectName(fd, "server", 7); err != nil {
			t.Error(err)
			return
		}
		var ev Event
		s.EventSet(&ev, fd, EvRead|EvPersist, func(int, EvFlags) {})
		s.EventAdd(&ev)
		close(connected)
		s.Read(fd, make([]byte, 10)) // blocks until the instance stops
	})
	wait(t, connected, "connect")
	spawn(t, ctxs["client"], func(s *Sys) {
		r, _, _ := s.Pipe()
		s.Poll([]PollFd{{Fd: r, Events: PollIn}}, -1) // blocks until stop
	})
	time.Sleep(20 * time.Millisecond)
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, goleak.IgnoreCurrent())
}
