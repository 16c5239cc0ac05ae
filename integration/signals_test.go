package integration

import (
	"bufio"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// TestSignalsAsMemcached checks the operator's signals against both
// servers: SIGHUP (logrotate, systemd's ExecReload) leaves the server
// running and serving; SIGUSR1 and "shutdown graceful" stop it with status
// 0 and say "Gracefully stopping" on stderr, as memcached 1.6.18 does.
func TestSignalsAsMemcached(t *testing.T) {
	t.Run("SIGHUP keeps serving", func(t *testing.T) {
		bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
			if err := s.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			// memcached looks at its signal flags once a second.
			time.Sleep(1500 * time.Millisecond)
			if s.Exited() {
				t.Fatalf("exited after SIGHUP\n%s", s.Stderr())
			}
			c := s.Dial(t)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			testwire.Exchange(t, c, bufio.NewReader(c), "set k 0 0 1\r\nv\r\nget k\r\n", "STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n")
		})
	})
	graceful := func(t *testing.T, s *testenv.Server) {
		t.Helper()
		if err := s.Wait(t, 10*time.Second); err != nil {
			t.Fatalf("exit status: %v\n%s", err, s.Stderr())
		}
		if !strings.Contains(s.Stderr(), "Gracefully stopping\n") {
			t.Errorf("stderr does not say %q:\n%s", "Gracefully stopping", s.Stderr())
		}
	}
	t.Run("SIGUSR1 stops gracefully", func(t *testing.T) {
		bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
			if err := s.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			graceful(t, s)
		})
	})
	t.Run("shutdown graceful", func(t *testing.T) {
		bothServers(t, []string{"-A"}, func(t *testing.T, s *testenv.Server) {
			c := s.Dial(t)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, "shutdown graceful\r\n"); err != nil {
				t.Fatal(err)
			}
			graceful(t, s)
			// Neither answers: the connection is closed.
			if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
				t.Errorf("after shutdown graceful read %q, %v; want EOF", b, err)
			}
		})
	})
	t.Run("plain shutdown is not graceful", func(t *testing.T) {
		bothServers(t, []string{"-A"}, func(t *testing.T, s *testenv.Server) {
			c := s.Dial(t)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "shutdown\r\n")
			if err := s.Wait(t, 10*time.Second); err != nil {
				t.Fatalf("exit status: %v\n%s", err, s.Stderr())
			}
			if strings.Contains(s.Stderr(), "Gracefully") {
				t.Errorf("stderr after plain shutdown:\n%s", s.Stderr())
			}
		})
	})
}
