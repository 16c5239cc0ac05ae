package posix

import "time"

// PollFd is one entry of a Poll call, like struct pollfd.
type PollFd struct {
	Fd      int
	Events  Events // of interest: PollIn, PollOut
	Revents Events // set by Poll; PollHup, PollErr, PollNval always reported
}

// Poll waits until one of fds is ready or timeout passes (timeout < 0 waits
// forever, 0 does not wait), and returns how many entries have Revents set
// (unix_poll of Listing 4.2).
func (s *Sys) Poll(fds []PollFd, timeout time.Duration) (int, error) {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		n := 0
		for i := range fds {
			h, ok := s.fds.get(fds[i].Fd)
			var rev Events
			if !ok {
				rev = PollNval
			} else {
				rev = h.Poll() & (fds[i].Events | PollHup | PollErr | PollNval)
			}
			fds[i].Revents = rev
			if rev != 0 {
				n++
			}
		}
		if n > 0 || timeout == 0 {
			return n, nil
		}
		ch := s.anyChange()
		timedOut, stopped := false, false
		s.sched.Block(func() {
			select {
			case <-ch:
			case <-deadline:
				timedOut = true
			case <-s.sched.Done():
				stopped = true
			}
		})
		if stopped {
			return 0, errStopped
		}
		if timedOut {
			return 0, nil
		}
	}
}

// PollFD returns one descriptor's readiness (the handle's poll).
func (s *Sys) PollFD(fd int) Events {
	h, ok := s.fds.get(fd)
	if !ok {
		return PollNval
	}
	return h.Poll()
}
