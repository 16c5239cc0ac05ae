package integration

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// TestNoEvictionOutOfMemory: with -M a full cache refuses new items with
// memcached's exact error instead of evicting old ones, and memory freed by
// a delete is used again.
func TestNoEvictionOutOfMemory(t *testing.T) {
	const size = 100 << 10 // 2 MB holds about 20 of these
	val := strings.Repeat("v", size)
	bothServers(t, []string{"-m", "2", "-M"}, func(t *testing.T, s *testenv.Server) {
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		set := func(key string) string {
			t.Helper()
			fmt.Fprintf(c, "set %s 0 0 %d\r\n%s\r\n", key, size, val)
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("set %s: %v", key, err)
			}
			return line
		}
		stored := 0
		for ; stored < 100; stored++ {
			line := set(fmt.Sprint("k", stored))
			if line == "STORED\r\n" {
				continue
			}
			if line != "SERVER_ERROR out of memory storing object\r\n" {
				t.Fatalf("set k%d: %q", stored, line)
			}
			break
		}
		if stored == 0 || stored == 100 {
			t.Fatalf("%d of 100 items of %d bytes stored in 2 MB", stored, size)
		}
		t.Logf("stored %d items before running out of memory", stored)
		if line := set("again"); line != "SERVER_ERROR out of memory storing object\r\n" {
			t.Fatalf("second set on a full cache: %q", line)
		}
		// memcached allocates the item when the line arrives, so it refuses
		// the set without reading the value into memory: the value is
		// swallowed and the next request served.
		testwire.Exchange(t, c, r, fmt.Sprintf("set early 0 0 %d\r\n%s\r\nget early\r\n", size, val),
			"SERVER_ERROR out of memory storing object\r\nEND\r\n")
		for i := range stored {
			testwire.Exchange(t, c, r, fmt.Sprintf("get k%d\r\n", i), fmt.Sprintf("VALUE k%d 0 %d\r\n%s\r\nEND\r\n", i, size, val))
		}
		testwire.Exchange(t, c, r, "delete k0\r\n", "DELETED\r\n")
		if line := set("again"); line != "STORED\r\n" {
			t.Fatalf("set after a delete freed memory: %q", line)
		}
		if st := stats(t, c, r, "stats"); st["evictions"] != "0" {
			t.Errorf("stats after running out of memory: evictions %q", st["evictions"])
		}
	})
}

// TestListenBacklog: -b sets the listen(2) backlog of the TCP and unix
// listeners, 1024 by default. ss(8) reports a listening socket's backlog
// in its Send-Q column, which observes it without racing connections
// against the accept loop.
func TestListenBacklog(t *testing.T) {
	ss := testenv.Require(t, "ss")
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"default", nil, "1024"},
		{"b=7", []string{"-b", "7"}, "7"},
	} {
		t.Run("tcp/"+tc.name, func(t *testing.T) {
			bothServers(t, tc.flags, func(t *testing.T, s *testenv.Server) {
				got := sendQ(t, ss, "-Hltn", "sport = :"+fmt.Sprint(s.Port))
				if got != tc.want {
					t.Errorf("backlog %s, want %s", got, tc.want)
				}
			})
		})
		t.Run("unix/"+tc.name, func(t *testing.T) {
			check := func(t *testing.T, s *testenv.Server) {
				if got := sendQ(t, ss, "-Hlx", "src "+s.Addr); got != tc.want {
					t.Errorf("backlog %s, want %s", got, tc.want)
				}
			}
			t.Run("memcached", func(t *testing.T) {
				check(t, testenv.StartMemcachedUnix(t, filepath.Join(t.TempDir(), "mc.sock"), tc.flags...))
			})
			eachTrust(t, func(t *testing.T, trust []string) {
				check(t, testenv.StartSecurecachedUnix(t, filepath.Join(t.TempDir(), "sc.sock"), append(trust, tc.flags...)...))
			})
		})
	}
}

// sendQ runs ss with a filter that must match exactly one listening
// socket and returns its Send-Q column: the backlog.
func sendQ(t *testing.T, ss, opts, filter string) string {
	t.Helper()
	out, err := exec.Command(ss, opts, filter).CombinedOutput()
	if err != nil {
		t.Fatalf("ss %s %q: %v\n%s", opts, filter, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 {
		t.Fatalf("ss %s %q: want one listener:\n%s", opts, filter, out)
	}
	f := strings.Fields(lines[0])
	// tcp: State Recv-Q Send-Q ...; unix: Netid State Recv-Q Send-Q ...
	i := 2
	if f[0] == "u_str" {
		i = 3
	}
	if len(f) <= i {
		t.Fatalf("ss line %q", lines[0])
	}
	return f[i]
}
