package integration

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// runTool runs one of libmemcached's tools with a deadline and returns its
// combined output.
func runTool(t *testing.T, d time.Duration, tool string, args ...string) (string, error) {
	t.Helper()
	path := testenv.Require(t, tool)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish within %v:\n%s", tool, args, d, out)
	}
	return string(out), err
}

// TestMemccapable runs libmemcached's protocol conformance suite, ASCII (-a)
// and binary (-b), and requires every test to pass.
func TestMemccapable(t *testing.T) {
	for _, mode := range []struct{ name, flag string }{{"ascii", "-a"}, {"binary", "-b"}} {
		t.Run(mode.name, func(t *testing.T) {
			bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
				out, err := runTool(t, time.Minute, "memccapable", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-t", "5", mode.flag)
				if err != nil || !strings.Contains(out, "All tests passed") || strings.Contains(out, "[FAIL]") {
					t.Fatalf("memccapable %s: %v\n%s", mode.flag, err, out)
				}
			})
		})
	}
}

// TestMemccapableGoroutineRelay runs the conformance suite through the
// gateway's portable relay too (the default is the epoll relay).
func TestMemccapableGoroutineRelay(t *testing.T) {
	eachTrust(t, func(t *testing.T, trust []string) {
		s := testenv.StartSecurecached(t, append(trust, "-o", "relay=goroutine")...)
		for _, flag := range []string{"-a", "-b"} {
			out, err := runTool(t, time.Minute, "memccapable", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-t", "5", flag)
			if err != nil || !strings.Contains(out, "All tests passed") || strings.Contains(out, "[FAIL]") {
				t.Fatalf("memccapable %s: %v\n%s", flag, err, out)
			}
		}
	})
}

// TestLibmemcachedTools smoke-tests memcstat, memcflush and memcslap.
func TestLibmemcachedTools(t *testing.T) {
	bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
		servers := "--servers=" + s.Addr
		out, err := runTool(t, 30*time.Second, "memcstat", servers)
		if err != nil || !strings.Contains(out, "pid:") || !strings.Contains(out, "curr_connections:") {
			t.Fatalf("memcstat: %v\n%s", err, out)
		}
		out, err = runTool(t, 30*time.Second, "memcslap", servers, "--concurrency=4", "--execute-number=200", "--binary")
		if err != nil || !strings.Contains(out, "Time to set") {
			t.Fatalf("memcslap binary: %v\n%s", err, out)
		}
		out, err = runTool(t, 30*time.Second, "memcslap", servers, "--concurrency=4", "--execute-number=200", "--test=get")
		if err != nil || !strings.Contains(out, "Time to") {
			t.Fatalf("memcslap get: %v\n%s", err, out)
		}
		out, err = runTool(t, 30*time.Second, "memcstat", servers)
		if err != nil || !strings.Contains(out, "curr_items:") {
			t.Fatalf("memcstat after load: %v\n%s", err, out)
		}
		if out, err := runTool(t, 30*time.Second, "memcflush", servers); err != nil {
			t.Fatalf("memcflush: %v\n%s", err, out)
		}
		out, err = runTool(t, 30*time.Second, "memcstat", servers)
		if err != nil || !strings.Contains(out, "cmd_flush: 1") {
			t.Fatalf("memcstat after flush: %v\n%s", err, out)
		}
	})
}
