package posix

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkSocketStream measures one-way stream throughput through a Diggi
// socket between two agents (writes of the given size, 1 MiB window).
func BenchmarkSocketStream(b *testing.B) {
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			_, ctxs := boot(b, "server", "client")
			wait(b, spawn(b, ctxs["server"], func(s *Sys) { s.RecvBuffer = 1 << 20 }), "config")
			wait(b, spawn(b, ctxs["client"], func(s *Sys) { s.RecvBuffer = 1 << 20 }), "config")
			lfd := listen(b, ctxs["server"], 1)
			total := int64(b.N) * int64(size)
			done := spawn(b, ctxs["server"], func(s *Sys) {
				fd, _, err := s.Accept(lfd)
				if err != nil {
					b.Error(err)
					return
				}
				n, err := io.Copy(io.Discard, reader{s, fd})
				if err != nil || n != total {
					b.Errorf("read %d of %d: %v", n, total, err)
				}
			})
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			wait(b, spawn(b, ctxs["client"], func(s *Sys) {
				fd, _ := s.Socket()
				if err := s.ConnectName(fd, "server", 1); err != nil {
					b.Error(err)
					return
				}
				for i := 0; i < b.N; i++ {
					if _, err := s.Write(fd, buf); err != nil {
						b.Error(err)
						return
					}
				}
				s.Close(fd)
			}), "writer")
			wait(b, done, "reader")
		})
	}
}

// BenchmarkSocketFanOut measures a relay's burst: one 100-byte write to
// each of 16 sockets to one agent, which echoes them, then reading the 16
// echoes. Corked, the burst is one message instead of 16 (per op: one
// burst).
func BenchmarkSocketFanOut(b *testing.B) {
	for _, corked := range []bool{false, true} {
		b.Run(fmt.Sprint("corked=", corked), func(b *testing.B) {
			_, ctxs := boot(b, "server", "client")
			echoServer(b, ctxs["server"], 7)
			req := make([]byte, 100)
			got := make([]byte, len(req))
			wait(b, spawn(b, ctxs["client"], func(s *Sys) {
				fds := make([]int, 16)
				for i := range fds {
					fds[i], _ = s.Socket()
					if err := s.ConnectName(fds[i], "server", 7); err != nil {
						b.Error(err)
						return
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if corked {
						s.Cork()
					}
					for _, fd := range fds {
						if _, err := s.Write(fd, req); err != nil {
							b.Error(err)
							return
						}
					}
					if corked {
						s.Uncork()
					}
					for _, fd := range fds {
						if _, err := io.ReadFull(reader{s, fd}, got); err != nil {
							b.Error(err)
							return
						}
					}
				}
				b.StopTimer()
				for _, fd := range fds {
					s.Close(fd)
				}
			}), "client")
		})
	}
}
