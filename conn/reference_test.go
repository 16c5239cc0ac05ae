package conn

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Differential testing against Debian's memcached 1.6: the same bytes go to
// /usr/bin/memcached and to a Conn, and the replies must match byte for
// byte. Skipped when memcached is not installed, unless
// SECURECACHED_REQUIRE_TOOLS=1 (CI), where its absence fails.

const memcachedPath = "/usr/bin/memcached"

// refServer starts memcached on a free 127.0.0.1 port and returns its
// address; the process is killed when the test ends.
func refServer(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := os.Stat(memcachedPath); err != nil {
		if os.Getenv("SECURECACHED_REQUIRE_TOOLS") == "1" {
			t.Fatalf("memcached required: %v", err)
		}
		t.Skipf("memcached not installed: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	full := append([]string{"-U", "0", "-l", "127.0.0.1", "-p", strconv.Itoa(port)}, args...)
	if os.Geteuid() == 0 {
		full = append(full, "-u", "nobody")
	}
	cmd := exec.Command(memcachedPath, full...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start memcached: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("memcached did not start on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refRun sends in on a new connection and collects replies until the
// server closes or stays quiet for a moment.
func refRun(t *testing.T, addr, in string) (string, bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, in)
	}()
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		// Wait longer for the first byte: the machine may be busy.
		wait := 300 * time.Millisecond
		if len(out) == 0 {
			wait = 2 * time.Second
		}
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return string(out), false
			}
			return string(out), true
		}
	}
}

// TestTextMatchesMemcached replays the text and meta transcripts against
// memcached, each on a fresh memcached so CAS values line up.
func TestTextMatchesMemcached(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memcached")
	}
	for _, tt := range append(textTranscripts(), metaTranscripts()...) {
		if tt.ours {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, closed := refRun(t, refServer(t), tt.in)
			if got != tt.want || closed != tt.closed {
				t.Fatalf("memcached:\ngot  %q closed=%v\nwant %q closed=%v", got, closed, tt.want, tt.closed)
			}
		})
	}
}
