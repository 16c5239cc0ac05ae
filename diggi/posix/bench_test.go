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
