package conn

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Differential testing against Debian's memcached 1.6: the same bytes go to
// /usr/bin/memcached and to a Conn, and the replies must match byte for
// byte. Skipped when memcached is not installed, unless
// SECURECACHED_REQUIRE_TOOLS=1 (CI), where its absence fails.

const memcachedPath = "/usr/bin/memcached"

// refServer starts memcached on a Unix socket of its own (no port races
// between parallel tests) and returns the socket path; the process is
// killed when the test ends.
func refServer(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := os.Stat(memcachedPath); err != nil {
		if os.Getenv("SECURECACHED_REQUIRE_TOOLS") == "1" {
			t.Fatalf("memcached required: %v", err)
		}
		t.Skipf("memcached not installed: %v", err)
	}
	dir, err := os.MkdirTemp("", "memcached-ref-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// memcached may run as user nobody; let it create its socket here.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "mc.sock")
	full := append([]string{"-s", sock, "-a", "0777"}, args...)
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err == nil {
			c.Close()
			return sock
		}
		if time.Now().After(deadline) {
			t.Fatalf("memcached did not start on %s: %v", sock, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refRun sends in on a new connection and collects replies until the
// server closes or stays quiet for a moment.
func refRun(t *testing.T, addr, in string) (string, bool) {
	t.Helper()
	out, closed, err := refExchange(addr, in)
	if err != nil {
		t.Fatal(err)
	}
	return out, closed
}

func refExchange(addr, in string) (string, bool, error) {
	c, err := net.DialTimeout("unix", addr, 2*time.Second)
	if err != nil {
		return "", false, err
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
				return string(out), false, nil
			}
			return string(out), true, nil
		}
	}
}

// refRunTranscripts runs each transcript's input on its own fresh
// memcached (see refRunAll).
func refRunTranscripts(t *testing.T, tests []transcript) []refResult {
	t.Helper()
	inputs := make([]string, len(tests))
	for i, tt := range tests {
		inputs[i] = tt.in
	}
	return refRunAll(t, inputs)
}

// refResult is memcached's reply to one input.
type refResult struct {
	out    string
	closed bool
}

// refRunAll runs each input on its own fresh memcached, several at a time:
// the runs mostly wait for memcached to go quiet, so they overlap well.
func refRunAll(t *testing.T, inputs []string, args ...string) []refResult {
	t.Helper()
	res := make([]refResult, len(inputs))
	socks := make([]string, len(inputs))
	for i := range inputs {
		socks[i] = refServer(t, args...)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out, closed, err := refExchange(socks[i], in)
			if err != nil {
				t.Errorf("memcached run %d: %v", i, err)
			}
			res[i] = refResult{out, closed}
		}()
	}
	wg.Wait()
	return res
}

// TestTextMatchesMemcached replays the text, meta and admin transcripts
// against memcached, each on a fresh memcached so CAS values line up.
func TestTextMatchesMemcached(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memcached")
	}
	var tests []transcript
	for _, tt := range append(append(textTranscripts(), metaTranscripts()...), adminTranscripts()...) {
		if !tt.ours {
			tests = append(tests, tt)
		}
	}
	refs := refRunTranscripts(t, tests)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if refs[i].out != tt.want || refs[i].closed != tt.closed {
				t.Fatalf("memcached:\ngot  %q closed=%v\nwant %q closed=%v", refs[i].out, refs[i].closed, tt.want, tt.closed)
			}
		})
	}
}
