package integration

import (
	"bufio"
	"bytes"
	"fmt"
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

// The canary is written through the cache and must never appear in the
// warm restart file.
const (
	canaryKey   = "canary-key-6d1f0b"
	canaryValue = "canary-value-e93a57-never-in-clear"
)

// warmServer starts securecached with -e file on a fixed port (the port is
// part of the cache agent's configuration, so of its measurement) with the
// sim platform identity in stateDir.
func warmServer(t *testing.T, port int, stateDir, file string, extra ...string) *testenv.Server {
	t.Helper()
	return warmServerBin(t, testenv.SecurecachedBinary(t), port, stateDir, file, extra...)
}

func warmServerBin(t *testing.T, bin string, port int, stateDir, file string, extra ...string) *testenv.Server {
	t.Helper()
	args := append([]string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "--state-dir", stateDir, "-A", "-e", file}, extra...)
	return testenv.StartBinaryAt(t, bin, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), args...)
}

// otherBuild is a copy of the securecached binary with one byte appended:
// it runs the same, but its hash, and so its measurement, differ, as a
// rebuilt or upgraded binary's would.
func otherBuild(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(testenv.SecurecachedBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "securecached-other")
	if err := os.WriteFile(bin, append(data, 0), 0o700); err != nil {
		t.Fatal(err)
	}
	return bin
}

func dialWire(t *testing.T, s *testenv.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := s.Dial(t)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

// fillWarm stores the canary (flags 42, TTL 1000) and 300 more items and
// returns the canary's CAS.
func fillWarm(t *testing.T, s *testenv.Server) string {
	t.Helper()
	c, r := dialWire(t, s)
	defer c.Close()
	testwire.Exchange(t, c, r, "set "+canaryKey+" 42 1000 "+strconv.Itoa(len(canaryValue))+"\r\n"+canaryValue+"\r\n", "STORED\r\n")
	var b strings.Builder
	for i := range 300 {
		v := strings.Repeat(strconv.Itoa(i%10), 100+i)
		fmt.Fprintf(&b, "set item:%d %d 0 %d noreply\r\n%s\r\n", i, i, len(v), v)
	}
	c.Write([]byte(b.String()))
	return gets(t, c, r, canaryKey)
}

// gets returns a key's CAS, or "" on a miss.
func gets(t *testing.T, c net.Conn, r *bufio.Reader, key string) string {
	t.Helper()
	if _, err := c.Write([]byte("gets " + key + "\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if line == "END\r\n" {
		return ""
	}
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != "VALUE" {
		t.Fatalf("gets %s: %q", key, line)
	}
	n, _ := strconv.Atoi(f[3])
	if _, err := r.Discard(n + 2); err != nil {
		t.Fatal(err)
	}
	if end, _ := r.ReadString('\n'); end != "END\r\n" {
		t.Fatalf("gets %s: %q after the value", key, end)
	}
	return f[4]
}

// checkRestored checks the canary and the items came back exactly.
func checkRestored(t *testing.T, s *testenv.Server, cas string) {
	t.Helper()
	c, r := dialWire(t, s)
	defer c.Close()
	testwire.Exchange(t, c, r, "mg "+canaryKey+" v f c t\r\n", "")
	line, _ := r.ReadString('\n')
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != "VA" || f[2] != "f42" || f[3] != "c"+cas {
		t.Fatalf("canary after restart: %q (want flags 42, cas %s)\n%s", line, cas, s.Stderr())
	}
	ttl, _ := strconv.Atoi(strings.TrimPrefix(f[4], "t"))
	if ttl <= 900 || ttl > 1000 {
		t.Fatalf("canary TTL %d after restart", ttl)
	}
	if v, _ := r.ReadString('\n'); v != canaryValue+"\r\n" {
		t.Fatalf("canary value %q", v)
	}
	for _, i := range []int{0, 150, 299} {
		v := strings.Repeat(strconv.Itoa(i%10), 100+i)
		testwire.Exchange(t, c, r, fmt.Sprintf("get item:%d\r\n", i),
			fmt.Sprintf("VALUE item:%d %d %d\r\n%s\r\nEND\r\n", i, i, len(v), v))
	}
}

// stopGracefully stops s with SIGUSR1 or "shutdown graceful".
func stopGracefully(t *testing.T, s *testenv.Server, how string) {
	t.Helper()
	if how == "SIGUSR1" {
		if err := s.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
	} else {
		c, _ := dialWire(t, s)
		c.Write([]byte("shutdown graceful\r\n"))
		defer c.Close()
	}
	if err := s.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("exit after %s: %v\n%s", how, err, s.Stderr())
	}
}

func TestWarmRestartRoundTrip(t *testing.T) {
	for _, how := range []string{"SIGUSR1", "shutdown graceful"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "cache.sealed")
			port := testenv.FreePort(t)
			s := warmServer(t, port, dir, file)
			cas := fillWarm(t, s)
			stopGracefully(t, s, how)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("no warm restart file after %s: %v\n%s", how, err, s.Stderr())
			}
			if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
			}
			for _, canary := range []string{canaryKey, canaryValue, "item:150", strings.Repeat("5", 100)} {
				if bytes.Contains(data, []byte(canary)) {
					t.Fatalf("%q in clear in the warm restart file", canary)
				}
			}
			s = warmServer(t, port, dir, file)
			checkRestored(t, s, cas)
			if _, err := os.Stat(file); !os.IsNotExist(err) {
				t.Errorf("file still there after restoring: %v", err)
			}
		})
	}
}

// TestWarmRestartOnlyGraceful: SIGTERM stops without writing the file, as
// memcached writes its memory file only on a graceful stop.
func TestWarmRestartOnlyGraceful(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cache.sealed")
	s := warmServer(t, testenv.FreePort(t), dir, file)
	fillWarm(t, s)
	s.Signal(syscall.SIGTERM)
	if err := s.Wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("SIGTERM wrote the file: %v", err)
	}
}

func TestWarmRestartUntrustedRefused(t *testing.T) {
	dir := t.TempDir()
	code, out := runBinary(t, "--untrusted", "-l", "127.0.0.1", "-p", strconv.Itoa(testenv.FreePort(t)), "-e", filepath.Join(dir, "f"))
	if code == 0 || !strings.Contains(out, "an untrusted cache agent has none") {
		t.Fatalf("untrusted with -e: exit %d\n%s", code, out)
	}
}

// TestWarmRestartRefused: a file from another binary or configuration (so
// another measurement), another platform, modified or truncated is refused
// with a reason, and the cache starts empty; sealed to the signer, it
// survives a new binary and a configuration change.
func TestWarmRestartRefused(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cache.sealed")
	port := testenv.FreePort(t)
	save := func(extra ...string) []byte {
		t.Helper()
		s := warmServer(t, port, dir, file, extra...)
		fillWarm(t, s)
		stopGracefully(t, s, "SIGUSR1")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	sealed := save()
	bySigner := save("-o", "seal_policy=signer")
	otherPlatform := t.TempDir()
	self, other := testenv.SecurecachedBinary(t), otherBuild(t)
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)/2] ^= 0x40
	for _, tc := range []struct {
		name     string
		data     []byte
		bin      string
		stateDir string
		extra    []string
		reason   string // "" means restored
	}{
		{"other binary", sealed, other, dir, nil, "another build or configuration"},
		{"other configuration", sealed, self, dir, []string{"-m", "65"}, "another build or configuration"},
		{"other platform", sealed, self, otherPlatform, nil, "another build or configuration (measurement), another signer, or on another platform"},
		{"modified", flipped, self, dir, nil, "was modified"},
		{"truncated", sealed[:len(sealed)-100], self, dir, nil, "truncated"},
		{"empty", nil, self, dir, nil, "not a warm restart file"},
		{"signer policy, other binary and configuration", bySigner, other, dir, []string{"-m", "65", "-o", "seal_policy=signer"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(file, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s := warmServerBin(t, tc.bin, port, tc.stateDir, file, tc.extra...)
			defer func() { s.Signal(syscall.SIGTERM); s.Wait(t, 20*time.Second) }()
			c, r := dialWire(t, s)
			defer c.Close()
			got := gets(t, c, r, canaryKey)
			if tc.reason == "" {
				if got == "" {
					t.Fatalf("not restored:\n%s", s.Stderr())
				}
				return
			}
			if got != "" {
				t.Fatalf("restored a refused file")
			}
			if !strings.Contains(s.Stderr(), "refused, the cache starts empty") || !strings.Contains(s.Stderr(), tc.reason) {
				t.Fatalf("stderr does not say why (%q):\n%s", tc.reason, s.Stderr())
			}
		})
	}
}
