package posix

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// An event-driven echo server in memcached's shape (Figure 4.3): a
// persistent READ event on the listening socket accepts, and a persistent
// READ event per connection reads what is there and echoes it, all from
// callbacks, with no task ever blocking.
func TestEventDrivenEchoServer(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	var listenEv Event
	conns := map[int]*Event{}
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		lfd, _ := s.Socket()
		if err := s.Listen(lfd, 11211, 0); err != nil {
			t.Fatal(err)
		}
		s.SetNonblock(lfd, true)
		s.EventSet(&listenEv, lfd, EvRead|EvPersist, func(fd int, _ EvFlags) {
			cfd, _, err := s.Accept(fd)
			if err != nil {
				return // EAGAIN: another callback took it
			}
			s.SetNonblock(cfd, true)
			ev := &Event{}
			conns[cfd] = ev
			s.EventSet(ev, cfd, EvRead|EvPersist, func(fd int, _ EvFlags) {
				buf := make([]byte, 100) // small reads: messageDrain reschedules
				n, err := s.Read(fd, buf)
				if n > 0 {
					s.Write(fd, buf[:n])
				}
				if err == io.EOF {
					s.EventDel(conns[fd])
					delete(conns, fd)
					s.Close(fd)
				}
			})
			s.EventAdd(ev)
		})
		if err := s.EventAdd(&listenEv); err != nil {
			t.Fatal(err)
		}
	}), "server setup")
	const sessions = 20
	var dones []<-chan struct{}
	for i := 0; i < sessions; i++ {
		dones = append(dones, spawn(t, ctxs["client"], func(s *Sys) {
			fd, _ := s.Socket()
			if err := s.ConnectName(fd, "server", 11211); err != nil {
				t.Error(err)
				return
			}
			want := bytes.Repeat([]byte(fmt.Sprintf("<%d>", i)), 500)
			if _, err := s.Write(fd, want); err != nil {
				t.Error(err)
				return
			}
			got := make([]byte, len(want))
			if _, err := io.ReadFull(reader{s, fd}, got); err != nil || !bytes.Equal(got, want) {
				t.Errorf("session %d: %v", i, err)
			}
			s.Close(fd)
		}))
	}
	for i, d := range dones {
		wait(t, d, fmt.Sprintf("session %d", i))
	}
}
