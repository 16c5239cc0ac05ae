package integration

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

func TestShutdownOnSignal(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			t.Run(sig.String(), func(t *testing.T) {
				s := testenv.StartSecurecached(t, trust...)
				c := s.Dial(t)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				testwire.Exchange(t, c, bufio.NewReader(c), "set k 0 0 1\r\nv\r\n", "STORED\r\n")
				start := time.Now()
				if err := s.Signal(sig); err != nil {
					t.Fatal(err)
				}
				if err := s.Wait(t, 5*time.Second); err != nil {
					t.Fatalf("exit after %v: %v\n%s", sig, err, s.Stderr())
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("took %v to exit", d)
				}
				// The open connection was closed, not left hanging.
				if _, err := c.Read(make([]byte, 1)); err == nil {
					t.Error("client connection still open after shutdown")
				}
			})
		}
	})
}

func TestShutdownCommand(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		t.Run("disabled", func(t *testing.T) {
			s := testenv.StartSecurecached(t, trust...)
			c := s.Dial(t)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			testwire.Exchange(t, c, bufio.NewReader(c), "shutdown\r\n", "ERROR: shutdown not enabled\r\n")
		})
		t.Run("enabled", func(t *testing.T) {
			s := testenv.StartSecurecached(t, append(trust, "-A")...)
			c := s.Dial(t)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte("shutdown\r\n")); err != nil {
				t.Fatal(err)
			}
			if err := s.Wait(t, 5*time.Second); err != nil {
				t.Fatalf("exit after shutdown: %v\n%s", err, s.Stderr())
			}
		})
	})
}

// dialServed connects until the server serves the connection: slots held
// by connections the server has not yet seen close (testenv's readiness
// probe, a test's previous client) free up asynchronously.
func dialServed(t *testing.T, s *testenv.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		c.Write([]byte("mn\r\n"))
		line, _ := r.ReadString('\n')
		if line == "MN\r\n" {
			return c, r
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("no connection served within 5s; last answer %q", line)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConnectionLimit: at -c, memcached (maxconns_fast) accepts, answers
// "ERROR Too many open connections" and closes.
func TestConnectionLimit(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		s := testenv.StartSecurecached(t, append(trust, "-c", "2")...)
		dialServed(t, s)
		dialServed(t, s)
		for i := 0; i < 2; i++ {
			extra := s.Dial(t)
			extra.SetDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(extra)
			if err != nil || string(got) != "ERROR Too many open connections\r\n" {
				t.Fatalf("connection over the limit got %q, %v", got, err)
			}
		}
	})
}

// TestConnectionLimitFreedSlot: closing the one -c client lets a new one in.
func TestConnectionLimitFreedSlot(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		s := testenv.StartSecurecached(t, append(trust, "-c", "1")...)
		c, _ := dialServed(t, s)
		c.Close()
		dialServed(t, s)
	})
}

func TestIdleTimeout(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		s := testenv.StartSecurecached(t, append(trust, "-o", "idle_timeout=1")...)
		idle := s.Dial(t)
		busy := s.Dial(t)
		busy.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(busy)
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			idle.SetReadDeadline(time.Now().Add(6 * time.Second))
			_, err := idle.Read(make([]byte, 1))
			done <- err
		}()
		// The busy connection talks every 300 ms and must survive past the timeout.
		for time.Since(start) < 2500*time.Millisecond {
			testwire.Exchange(t, busy, br, "mn\r\n", "MN\r\n")
			time.Sleep(300 * time.Millisecond)
		}
		err := <-done
		if err != io.EOF {
			t.Fatalf("idle connection: read error %v, want EOF (closed by the server)", err)
		}
	})
}

func TestUnixSocket(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		path := filepath.Join(t.TempDir(), "sc.sock")
		s := testenv.StartSecurecachedUnix(t, path, append(trust, "-a", "770")...)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o770 {
			t.Errorf("socket mode %v, want a socket with 0770", fi.Mode())
		}
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		testwire.Exchange(t, c, r, "set u 0 0 1\r\nx\r\nget u\r\n", "STORED\r\nVALUE u 0 1\r\nx\r\nEND\r\n")
		if err := s.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := s.Wait(t, 5*time.Second); err != nil {
			t.Fatalf("exit: %v", err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("socket file left behind after shutdown: %v", err)
		}
	})
}

// TestAuthFile: with -Y, memcached's ASCII authentication: nothing works
// until a "set" carrying "user password" as its value succeeds.
func TestAuthFile(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(auth, []byte("alice:secret\nbob:hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bothServers(t, []string{"-Y", auth}, func(t *testing.T, s *testenv.Server) {
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		testwire.Exchange(t, c, r, "get k\r\n", "CLIENT_ERROR unauthenticated\r\n")
		testwire.Exchange(t, c, r, "set auth 0 0 12\r\nalice wrong!\r\n", "CLIENT_ERROR authentication failure\r\n")
		testwire.Exchange(t, c, r, "set auth 0 0 12\r\nalice secret\r\n", "STORED\r\n")
		testwire.Exchange(t, c, r, "set k 0 0 1\r\nv\r\nget k\r\n", "STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n")

		// Authentication is per connection.
		c2 := s.Dial(t)
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		r2 := bufio.NewReader(c2)
		testwire.Exchange(t, c2, r2, "get k\r\n", "CLIENT_ERROR unauthenticated\r\n")
		testwire.Exchange(t, c2, r2, "set a 0 0 11\r\nbob hunter2\r\n", "STORED\r\n")
		testwire.Exchange(t, c2, r2, "get k\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n")
	})
}

func TestVerboseLogsConnections(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		s := testenv.StartSecurecached(t, append(trust, "-vv")...)
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		testwire.Exchange(t, c, bufio.NewReader(c), "mn\r\n", "MN\r\n")
		c.Close()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(s.Stderr(), "connection closed.") {
			if time.Now().After(deadline) {
				t.Fatalf("-vv did not log the connection close:\n%s", s.Stderr())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(s.Stderr(), "new auto-negotiating client connection") {
			t.Errorf("-vv did not log the new connection:\n%s", s.Stderr())
		}
	})
}

// TestVerbosityCommandRaisesLogging: "verbosity 2" on a server started
// without -v makes it log connections from then on, as memcached's does.
func TestVerbosityCommandRaisesLogging(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		s := testenv.StartSecurecached(t, trust...)
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		// No connection older than the command may be logged after it.
		awaitProbe(t, c, r, 3)
		testwire.Exchange(t, c, r, "verbosity 2\r\n", "OK\r\n")
		if strings.Contains(s.Stderr(), "new auto-negotiating client connection") {
			t.Fatalf("logged a connection before verbosity 2:\n%s", s.Stderr())
		}
		c2 := s.Dial(t)
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		testwire.Exchange(t, c2, bufio.NewReader(c2), "mn\r\n", "MN\r\n")
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(s.Stderr(), "new auto-negotiating client connection") {
			if time.Now().After(deadline) {
				t.Fatalf("verbosity 2 did not make the server log new connections:\n%s", s.Stderr())
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestConnectionStats: curr_connections counts clients, while
// total_connections and connection_structures (the most connections open
// at once) count the listener too, on both servers alike.
func TestConnectionStats(t *testing.T) {
	bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
		type counts struct{ curr, total, structures string }
		read := func(c net.Conn, r *bufio.Reader) counts {
			t.Helper()
			st := stats(t, c, r, "stats")
			return counts{st["curr_connections"], st["total_connections"], st["connection_structures"]}
		}
		open := func() (net.Conn, *bufio.Reader) {
			c := s.Dial(t)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			// A reply proves the server took the connection.
			if _, err := c.Write([]byte("version\r\n")); err != nil {
				t.Fatal(err)
			}
			if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
				t.Fatalf("version: %q, %v", line, err)
			}
			return c, r
		}
		c1, r1 := open()
		awaitProbe(t, c1, r1, 3)
		base := read(c1, r1)
		if base.curr != "1" {
			t.Fatalf("one client: curr_connections %s, want 1", base.curr)
		}
		total0, err := strconv.Atoi(base.total)
		if err != nil {
			t.Fatal(err)
		}
		c2, _ := open()
		c3, _ := open()
		want := counts{"3", strconv.Itoa(total0 + 2), "4"}
		if got := read(c1, r1); got != want {
			t.Fatalf("three clients: %+v, want %+v", got, want)
		}
		c2.Close()
		c3.Close()
		want.curr = "1"
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := read(c1, r1)
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after two left: %+v, want %+v", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
