package integration

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
)

// trustModes are the two ways securecached's cache agent runs: in a
// (simulated) enclave, which is the default, and untrusted. The suite runs
// against both: the same code must behave the same either way.
var trustModes = []struct {
	name  string
	flags []string
}{
	{"trusted", nil},
	{"untrusted", []string{"--untrusted"}},
}

// bothServers runs fn against Debian's memcached and against securecached
// in both trust modes, each started fresh with the same flags. Running
// every behavioural test on memcached too proves the test expects what
// memcached really does.
func bothServers(t *testing.T, flags []string, fn func(t *testing.T, s *testenv.Server)) {
	t.Run("memcached", func(t *testing.T) { fn(t, testenv.StartMemcached(t, flags...)) })
	eachTrust(t, func(t *testing.T, trust []string) {
		fn(t, testenv.StartSecurecached(t, append(trust, flags...)...))
	})
}

// eachTrust runs fn once per trust mode, as subtests "securecached/<mode>",
// passing the flags that select the mode.
func eachTrust(t *testing.T, fn func(t *testing.T, trust []string)) {
	for _, m := range trustModes {
		t.Run("securecached/"+m.name, func(t *testing.T) { fn(t, m.flags) })
	}
}

// stats sends a stats command (e.g. "stats", "stats slabs") and returns
// its STAT values by name.
func stats(t *testing.T, c io.Writer, r *bufio.Reader, cmd string) map[string]string {
	t.Helper()
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if line == "END\r\n" {
			return got
		}
		// A value may hold spaces (memcached's "?:<AF 0>").
		if f := strings.SplitN(strings.TrimSuffix(line, "\r\n"), " ", 3); len(f) == 3 && f[0] == "STAT" {
			got[f[1]] = f[2]
		}
	}
}

// awaitProbe waits, over the connection c (the only client), until the
// server has seen the test harness's readiness probe come and go: no other
// connection is open, and total_connections has reached minTotal (3: the
// listener, the probe and c; a TLS server does not count the probe, whose
// handshake fails). Without the wait, with several gateway relays the
// probe may reach the cache agent through another relay after c does.
func awaitProbe(t *testing.T, c io.Writer, r *bufio.Reader, minTotal int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := stats(t, c, r, "stats")
		total, err := strconv.Atoi(st["total_connections"])
		if err != nil {
			t.Fatalf("total_connections %q: %v", st["total_connections"], err)
		}
		if st["curr_connections"] == "1" && total >= minTotal {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the readiness probe never came and went: %v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
