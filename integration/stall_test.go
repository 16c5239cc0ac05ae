package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// The stall tests are issue 19's first failure: under a burst of large
// requests from many clients at once, a writer refused for lack of room
// (a flow-control window or a message queue) on the way through the
// gateway to the cache agent and back was never woken when the room came,
// and about half of the clients never got an answer. memcached answers
// every one of them within a couple of seconds; the tests allow far more
// (stallBudget), so only a stall, not a slow machine, fails them.

const (
	stallClients = 1000
	stallBudget  = 90 * time.Second
)

// TestStallLargeSets: stallClients clients each send one complete 1 MB
// set at the same moment (default flags and -c 4096); every one must be
// answered.
func TestStallLargeSets(t *testing.T) {
	if testing.Short() {
		t.Skip("a thousand 1 MB sets")
	}
	const size = 1 << 20
	val := bytes.Repeat([]byte("s"), size)
	raiseFileLimit(t, 2*stallClients+256)
	bothServers(t, []string{"-c", "4096"}, func(t *testing.T, s *testenv.Server) {
		stallCrowd(t, s, func(i int, c net.Conn, r *bufio.Reader) error {
			req := make([]byte, 0, size+64)
			req = fmt.Appendf(req, "set big%d 0 0 %d\r\n", i, size)
			req = append(append(req, val...), "\r\n"...)
			if _, err := c.Write(req); err != nil {
				return err
			}
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			// memcached may refuse a value that does not fit its -m 64
			// with SERVER_ERROR; any whole reply line is an answer.
			if line != "STORED\r\n" && !strings.HasPrefix(line, "SERVER_ERROR ") {
				return fmt.Errorf("reply %q", line)
			}
			return nil
		})
	})
}

// TestStallMultigets: stallClients clients each send one get of ten
// 100 KB keys at the same moment (-m 1024); every reply must arrive whole.
func TestStallMultigets(t *testing.T) {
	if testing.Short() {
		t.Skip("a thousand 1 MB multiget replies")
	}
	const (
		keys = 10
		size = 100 << 10
	)
	raiseFileLimit(t, 2*stallClients+256)
	bothServers(t, []string{"-m", "1024", "-c", "4096"}, func(t *testing.T, s *testenv.Server) {
		setup := s.Dial(t)
		sr := bufio.NewReader(setup)
		var get strings.Builder
		get.WriteString("get")
		for k := range keys {
			v := strings.Repeat(string(rune('a'+k)), size)
			testwire.Exchange(t, setup, sr, fmt.Sprintf("set mg%d 0 0 %d\r\n%s\r\n", k, size, v), "STORED\r\n")
			fmt.Fprintf(&get, " mg%d", k)
		}
		get.WriteString("\r\n")
		req := []byte(get.String())
		stallCrowd(t, s, func(i int, c net.Conn, r *bufio.Reader) error {
			if _, err := c.Write(req); err != nil {
				return err
			}
			for k := range keys {
				line, err := r.ReadString('\n')
				if err != nil {
					return fmt.Errorf("value %d: %w", k, err)
				}
				if want := fmt.Sprintf("VALUE mg%d 0 %d\r\n", k, size); line != want {
					return fmt.Errorf("value %d: header %q, want %q", k, line, want)
				}
				if _, err := r.Discard(size + 2); err != nil {
					return fmt.Errorf("value %d: data: %w", k, err)
				}
			}
			line, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("END: %w", err)
			}
			if line != "END\r\n" {
				return fmt.Errorf("after the values: %q", line)
			}
			return nil
		})
	})
}

// stallCrowd connects stallClients clients, then releases them at once to
// run fn, each with the stall budget as its deadline, and fails the test
// naming how many were not answered.
func stallCrowd(t *testing.T, s *testenv.Server, fn func(i int, c net.Conn, r *bufio.Reader) error) {
	t.Helper()
	conns := make([]net.Conn, stallClients)
	for i := range conns {
		c, err := net.DialTimeout(s.Network(), s.Addr, 10*time.Second)
		if err != nil {
			t.Fatalf("dial client %d: %v", i, err)
		}
		conns[i] = c
		defer c.Close()
	}
	start := make(chan struct{})
	errs := make(chan error, stallClients)
	var wg sync.WaitGroup
	deadline := time.Now().Add(stallBudget)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c.SetDeadline(deadline)
			if err := fn(i, c, bufio.NewReaderSize(c, 64<<10)); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	close(errs)
	var failed []error
	for err := range errs {
		failed = append(failed, err)
	}
	t.Logf("%d/%d answered in %v", stallClients-len(failed), stallClients, time.Since(began).Round(time.Millisecond))
	if len(failed) > 0 {
		for _, err := range failed[:min(len(failed), 5)] {
			t.Error(err)
		}
		t.Fatalf("%d of %d clients were not answered within %v; stderr tail:\n%s", len(failed), stallClients, stallBudget, tail(s.Stderr(), 2000))
	}
}

// raiseFileLimit makes sure this process may hold n descriptors (the
// server is started with the same limit, inherited).
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Fatalf("RLIMIT_NOFILE hard limit %d is below the %d descriptors the test needs", lim.Max, n)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
