package testenv

import (
	"bufio"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFreePortIsBindable(t *testing.T) {
	port := FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatalf("port %d from FreePort is not bindable: %v", port, err)
	}
	l.Close()
}

func TestStartMemcachedAnswersVersion(t *testing.T) {
	s := StartMemcached(t)
	c := s.Dial(t)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "VERSION 1.6") {
		t.Errorf("memcached answered %q", line)
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	bin := Require(t, "memcached")
	_, err := start(t, bin, []string{"-B", "http"}, "tcp", "127.0.0.1:1", nil)
	if err == nil || !strings.Contains(err.Error(), "exited before listening") {
		t.Fatalf("start with bad flags: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 {
		t.Error("ExitCode(nil) != 0")
	}
	if ExitCode(errors.New("x")) != -1 {
		t.Error("ExitCode(non-exit error) != -1")
	}
	err := exec.Command("sh", "-c", "exit 3").Run()
	if got := ExitCode(err); got != 3 {
		t.Errorf("ExitCode = %d, want 3", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
