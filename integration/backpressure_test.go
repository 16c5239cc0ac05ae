package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// TestBackPressureBoundsMemory: a client that pipelines "get big" for a
// 512 KB value and never reads a reply must be stopped by TCP flow
// control, as memcached stops it: the server stops reading once it cannot
// write, so the client's writes block after the socket buffers fill and the
// server's memory stays bounded. Meanwhile other clients are served.
func TestBackPressureBoundsMemory(t *testing.T) {
	bound := int64(64 << 20)
	if testenv.RaceEnabled() {
		bound *= 3 // measured: the race detector makes the growth 2.5 times larger
	}
	bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
		stuckClients(t, s, 1, 512<<10, bound)
	})
}

// stuckClients stores a value of size bytes, then has n clients each try
// to send 200 MB of "get big" without reading. A server that kept reading
// and queued the replies would take all of it (10^13 bytes of replies) or
// grow its RSS past maxGrowth while trying; the watch stops as soon as RSS
// passes the bound. It then checks that another client is served, that
// each stuck client was blocked (not reset) after a small part of its
// requests, and that its replies are intact.
func stuckClients(t *testing.T, s *testenv.Server, n, size int, maxGrowth int64) {
	const (
		attempt = 200 << 20
		watch   = 2 * time.Second
	)
	val := strings.Repeat("v", size)
	setup := s.Dial(t)
	testwire.Exchange(t, setup, bufio.NewReader(setup), fmt.Sprintf("set big 0 0 %d\r\n%s\r\n", size, val), "STORED\r\n")
	baseline := vmRSS(t, s.PID())

	chunk := bytes.Repeat([]byte("get big\r\n"), (1<<20)/len("get big\r\n"))
	type stuck struct {
		c        net.Conn
		accepted atomic.Int64
		err      chan error
	}
	clients := make([]*stuck, n)
	for i := range clients {
		st := &stuck{c: s.Dial(t), err: make(chan error, 1)}
		clients[i] = st
		go func() {
			for st.accepted.Load() < attempt {
				n, err := st.c.Write(chunk)
				st.accepted.Add(int64(n))
				if err != nil {
					st.err <- err
					return
				}
			}
			st.err <- nil
		}()
	}

	// Give a server without back-pressure the time to show it.
	peak := baseline
	for end := time.Now().Add(watch); time.Now().Before(end) && peak-baseline <= maxGrowth; {
		time.Sleep(20 * time.Millisecond)
		peak = max(peak, vmRSS(t, s.PID()))
	}
	var accepted int64
	for _, st := range clients {
		accepted += st.accepted.Load()
	}
	t.Logf("%d clients wrote %d MB of %d MB; server RSS %d MB, peak %d MB",
		n, accepted>>20, n*attempt>>20, baseline>>20, peak>>20)
	if peak-baseline > maxGrowth {
		t.Fatalf("server RSS grew by %d MB (bound %d MB) under %d clients that do not read", (peak-baseline)>>20, maxGrowth>>20, n)
	}
	for i, st := range clients {
		select {
		case err := <-st.err:
			t.Fatalf("client %d: writes never blocked: %d MB accepted, write error %v", i, st.accepted.Load()>>20, err)
		default:
		}
	}

	// The stuck clients do not hold up anyone else.
	other := s.Dial(t)
	testwire.Exchange(t, other, bufio.NewReader(other), "set small 0 0 1\r\nx\r\nget small\r\n", "STORED\r\nVALUE small 0 1\r\nx\r\nEND\r\n")

	// Unblock the writers: each connection must still be open (blocked,
	// not reset), and its replies intact.
	want := fmt.Sprintf("VALUE big 0 %d\r\n%s\r\nEND\r\n", size, val)
	got := make([]byte, len(want))
	for i, st := range clients {
		st.c.SetWriteDeadline(time.Now())
		if err := <-st.err; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("client %d: blocked write ended with %v, want the deadline", i, err)
		}
		if a := st.accepted.Load(); a > attempt/4 {
			t.Errorf("client %d wrote %d MB of %d MB before blocking", i, a>>20, attempt>>20)
		}
		st.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(st.c)
		for j := range 3 {
			if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
				t.Fatalf("client %d: reply %d: %v, %q...", i, j, err, got[:min(len(got), 40)])
			}
		}
	}
}

// vmRSS is the resident set size of process pid in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestBackPressureManyClients: eight clients that never read, each asking
// for a 1 MB value. memcached's replies point at the item and cost it
// nothing; securecached's are copies, of which a connection holds at most
// about one value plus 256 KB (conn's maxPendingOutput). Before that bound
// it held -R values per connection and grew by 300 MB here.
func TestBackPressureManyClients(t *testing.T) {
	bound := int64(128 << 20)
	if testenv.RaceEnabled() {
		bound *= 3
	}
	bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
		stuckClients(t, s, 8, 1000000, bound)
	})
}

// TestIncompleteValuesBoundedByMemoryLimit: clients that each send most of
// a large value and then stop cost the server at most -m, as memcached,
// which allocates the item when the line arrives and refuses what does not
// fit: securecached reads such values straight into their items. Before,
// each one was buffered outside -m (40 clients: about 600 MB here).
func TestIncompleteValuesBoundedByMemoryLimit(t *testing.T) {
	const (
		clients = 40
		size    = 16<<20 - 1024
		sent    = 15 << 20
	)
	// -m 64, the collector's limit at the default -c (64 MB + 1024 x 64
	// KB; the refused values' bytes pass through as garbage), and slack.
	bound := int64(64<<20 + 128<<20 + 64<<20)
	if testenv.RaceEnabled() {
		bound *= 2
	}
	bothServers(t, []string{"-m", "64", "-I", "16m"}, func(t *testing.T, s *testenv.Server) {
		baseline := vmRSS(t, s.PID())
		chunk := bytes.Repeat([]byte("v"), 1<<20)
		errs := make(chan error, clients)
		for i := range clients {
			c := s.Dial(t)
			// A guard against a hang, not a speed test: alone the 600 MB
			// pass in under 10 s with -race, but beside the suite's other
			// packages on a 2-core machine they once took over 30 s.
			c.SetWriteDeadline(time.Now().Add(120 * time.Second))
			go func() {
				_, err := fmt.Fprintf(c, "set hold%d 0 0 %d\r\n", i, size)
				for left := sent; left > 0 && err == nil; left -= len(chunk) {
					_, err = c.Write(chunk)
				}
				errs <- err
			}()
		}
		peak := baseline
		for done := 0; done < clients; {
			select {
			case err := <-errs:
				if err != nil {
					t.Fatalf("a client could not send its value: %v", err)
				}
				done++
			case <-time.After(20 * time.Millisecond):
			}
			peak = max(peak, vmRSS(t, s.PID()))
		}
		for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			peak = max(peak, vmRSS(t, s.PID()))
		}
		t.Logf("%d clients holding %d MB each: server RSS %d MB, peak %d MB", clients, sent>>20, baseline>>20, peak>>20)
		if peak-baseline > bound {
			t.Fatalf("server RSS grew by %d MB (bound %d MB)", (peak-baseline)>>20, bound>>20)
		}
		// Others are still served. (A small set may be refused: with -I
		// above 1m the held values' pages can fill -m, leaving none for a
		// small item's class, as complete large items do too.)
		other := s.Dial(t)
		testwire.Exchange(t, other, bufio.NewReader(other), "get small\r\n", "END\r\n")
	})
}
