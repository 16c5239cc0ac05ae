package integration

import (
	"bufio"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// TestStatsConnectionCounters: rejected_connections counts the clients
// refused at -c (each told "ERROR Too many open connections"), idle_kicks
// the clients closed at idle_timeout, and threads the relays that run,
// on both servers. securecached's gateway does the refusing and the
// kicking; the cache agent reports its counts.
func TestStatsConnectionCounters(t *testing.T) {
	bothServers(t, []string{"-c", "30", "-t", "4", "-o", "idle_timeout=1"}, func(t *testing.T, s *testenv.Server) {
		var conns []io.ReadWriteCloser
		for range 40 {
			conns = append(conns, s.Dial(t))
		}
		refused := 0
		for _, c := range conns {
			nc := c.(interface{ SetReadDeadline(time.Time) error })
			nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			line, _ := bufio.NewReader(c).ReadString('\n')
			if strings.HasPrefix(line, "ERROR Too many open connections") {
				refused++
			}
		}
		for _, c := range conns {
			c.Close()
		}
		if refused == 0 {
			t.Fatal("no client was refused at -c 30 with 40 clients")
		}
		time.Sleep(500 * time.Millisecond)
		st := statsOf(t, s)
		if got := st["rejected_connections"]; got != strconv.Itoa(refused) {
			t.Errorf("rejected_connections %s, clients told so %d", got, refused)
		}
		if want := strconv.Itoa(expectThreads(s, 4)); st["threads"] != want {
			t.Errorf("threads %s, want %s", st["threads"], want)
		}
		kicks, _ := strconv.Atoi(st["idle_kicks"])
		idle := s.Dial(t)
		idle.SetReadDeadline(time.Now().Add(6 * time.Second))
		if _, err := idle.Read(make([]byte, 1)); err == nil {
			t.Fatal("idle client got data instead of being closed")
		}
		after, _ := strconv.Atoi(statsOf(t, s)["idle_kicks"])
		if after <= kicks {
			t.Errorf("idle_kicks %d after an idle client was closed, was %d", after, kicks)
		}
	})
}

// expectThreads is the threads stat for -t n: memcached's is -t;
// securecached runs at most one relay per processor.
func expectThreads(s *testenv.Server, n int) int {
	if strings.Contains(s.Cmd.Path, "memcached") && !strings.Contains(s.Cmd.Path, "securecached") {
		return n
	}
	return min(n, runtime.NumCPU())
}

func statsOf(t *testing.T, s *testenv.Server) map[string]string {
	t.Helper()
	c := s.Dial(t)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return stats(t, c, bufio.NewReader(c), "stats")
}
