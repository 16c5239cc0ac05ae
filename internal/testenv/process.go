package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a server may take to accept its first
// connection.
const StartTimeout = 10 * time.Second

// Server is a running server process on a loopback port.
type Server struct {
	Addr string // "127.0.0.1:PORT", or the unix socket path when Network is "unix"
	Port int
	Cmd  *exec.Cmd

	network string
	stderr  *SyncBuffer
	done    chan struct{}
	waitErr error
}

// Network is "tcp" or "unix".
func (s *Server) Network() string { return s.network }

// Stderr returns what the process has written to stderr so far.
func (s *Server) Stderr() string { return s.stderr.String() }

// PID is the process id, for /proc/PID/status.
func (s *Server) PID() int { return s.Cmd.Process.Pid }

// Dial connects to the server.
func (s *Server) Dial(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(s.network, s.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Signal sends sig to the process.
func (s *Server) Signal(sig os.Signal) error { return s.Cmd.Process.Signal(sig) }

// Wait waits up to d for the process to exit and returns its exit error
// (nil for status 0). It fails the test if the process is still running.
func (s *Server) Wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-s.done:
		return s.waitErr
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v; stderr:\n%s", s.Cmd.Path, d, s.Stderr())
		return nil
	}
}

// Exited reports whether the process has exited.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// StartMemcached starts Debian's memcached on a free port of 127.0.0.1 with
// UDP off and the given extra flags, and stops it when the test ends.
func StartMemcached(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := Require(t, "memcached")
	return startTCP(t, bin, func(port int) []string {
		a := []string{"-U", "0", "-l", "127.0.0.1", "-p", strconv.Itoa(port)}
		if os.Geteuid() == 0 {
			a = append(a, "-u", "root") // memcached refuses to run as root without -u
		}
		return append(a, args...)
	}, nil)
}

// StartSecurecached builds (once per test binary) and starts securecached on
// a free port of 127.0.0.1 with the given extra flags, and stops it when the
// test ends.
func StartSecurecached(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := SecurecachedBinary(t)
	return startTCP(t, bin, func(port int) []string {
		return append([]string{"-l", "127.0.0.1", "-p", strconv.Itoa(port)}, args...)
	}, stateEnv())
}

// StartSecurecachedUnix starts securecached on the unix socket path with the
// given extra flags.
func StartSecurecachedUnix(t testing.TB, path string, args ...string) *Server {
	t.Helper()
	bin := SecurecachedBinary(t)
	s, err := start(t, bin, append([]string{"-s", path}, args...), "unix", path, stateEnv())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startTCP tries a few free ports: between FreePort and the server's bind
// another process may take the port.
func startTCP(t testing.TB, bin string, args func(port int) []string, env []string) *Server {
	t.Helper()
	var lastErr error
	for range 3 {
		port := FreePort(t)
		s, err := start(t, bin, args(port), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), env)
		if err == nil {
			s.Port = port
			return s
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

// start runs bin with extra environment variables and waits until addr
// accepts a connection.
func start(t testing.TB, bin string, args []string, network, addr string, env []string) (*Server, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	stderr := &SyncBuffer{}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{Addr: addr, Cmd: cmd, network: network, stderr: stderr, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.stop() })

	deadline := time.Now().Add(StartTimeout)
	for {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		if s.Exited() {
			return nil, fmt.Errorf("%s %v exited before listening: %v\n%s", bin, args, s.waitErr, stderr.String())
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s %v did not accept on %s within %v: %v\n%s", bin, args, addr, StartTimeout, err, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop kills the process if it still runs and reaps it.
func (s *Server) stop() {
	if s.Exited() {
		return
	}
	_ = s.Cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// ExitCode returns the exit status carried by an error from Wait, 0 for nil,
// and -1 when the process died from a signal.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// StartBinaryAt is StartSecurecachedAt for another build of securecached
// (a copy whose measurement differs, say).
func StartBinaryAt(t testing.TB, bin, network, addr string, args ...string) *Server {
	t.Helper()
	s, err := start(t, bin, args, network, addr, stateEnv())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartSecurecachedAt starts securecached with exactly args (a --config
// layout, say) and waits until addr ("tcp" host:port or "unix" path)
// accepts a connection.
func StartSecurecachedAt(t testing.TB, network, addr string, args ...string) *Server {
	t.Helper()
	s, err := start(t, SecurecachedBinary(t), args, network, addr, stateEnv())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartNutcracker starts twemproxy (Debian's nutcracker) on a free port of
// 127.0.0.1 as a memcached proxy in front of backends, with ketama
// distribution. Each backend is named s0, s1, ... in the pool, so ketama
// places a key by the backend's position, not its address: two pools of the
// same size put every key on the same-numbered backend.
func StartNutcracker(t testing.TB, backends []string) *Server {
	t.Helper()
	bin := Require(t, "nutcracker")
	dir := t.TempDir()
	return startTCP(t, bin, func(port int) []string {
		var conf strings.Builder
		fmt.Fprintf(&conf, "pool:\n  listen: 127.0.0.1:%d\n  hash: fnv1a_64\n  distribution: ketama\n", port)
		conf.WriteString("  timeout: 5000\n  auto_eject_hosts: false\n  servers:\n")
		for i, b := range backends {
			fmt.Fprintf(&conf, "   - %s:1 s%d\n", b, i)
		}
		path := filepath.Join(dir, "nutcracker.yml")
		if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		// -s: its stats port, also free, so parallel test binaries do not collide.
		return []string{"-c", path, "-s", strconv.Itoa(FreePort(t)), "-a", "127.0.0.1", "-o", filepath.Join(dir, "nutcracker.log")}
	}, nil)
}
