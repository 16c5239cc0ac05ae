package posix

import (
	"errors"
	"testing"
	"time"
)

// TestSocketLinkLostResets: the runtime's notice that the link to an
// instance broke (diggi.TypeLinkLost) resets the sockets with that
// instance's agents: a blocked read wakes with ECONNRESET, a write fails
// the same way. A notice for another instance leaves them alone. (Here
// the peer is local, so the notice names this instance; across a link it
// names the peer's.)
func TestSocketLinkLostResets(t *testing.T) {
	in, ctxs := boot(t, "server", "client")
	listen(t, ctxs["server"], 1)
	fd := -1
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		var err error
		fd, _ = s.Socket()
		if err = s.ConnectName(fd, "server", 1); err != nil {
			t.Error(err)
		}
	}), "connect")
	in.LinkLost(in.ID()+1, nil, nil) // another instance: nothing happens
	read := spawn(t, ctxs["client"], func(s *Sys) {
		_, err := s.Read(fd, make([]byte, 4))
		if !errors.Is(err, ECONNRESET) {
			t.Errorf("blocked read after the link was lost: %v, want ECONNRESET", err)
		}
		if _, err := s.Write(fd, []byte("x")); !errors.Is(err, ECONNRESET) {
			t.Errorf("write after the link was lost: %v, want ECONNRESET", err)
		}
	})
	select {
	case <-read:
		t.Fatal("read returned before the notice")
	case <-time.After(100 * time.Millisecond):
	}
	in.LinkLost(in.ID(), nil, nil)
	wait(t, read, "the reset")
}
