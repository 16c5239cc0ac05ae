package cacheagent

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testwire"
)

// A client that pipelines gets of a large value and never reads costs at
// most its window: its session stops processing requests while its output
// waits for window (as memcached stops a connection whose output is
// blocked), so the agent holds one share of replies for it, whatever the
// other clients do meanwhile; once it reads, it is served again.
func TestCacheAgentNonReaderCostsItsWindow(t *testing.T) {
	st := newStack(t, stackOptions{args: "-m 64"})
	clean := st.dial(t)
	cr := bufio.NewReader(clean)
	val := bytes.Repeat([]byte("v"), 100<<10)
	testwire.Exchange(t, clean, cr, fmt.Sprintf("set big 0 0 %d\r\n%s\r\n", len(val), val), "STORED\r\n")

	hostile := st.dial(t)
	hostile.SetDeadline(time.Now().Add(20 * time.Second))
	const gets = 1000
	if _, err := io.WriteString(hostile, strings.Repeat("get big\r\n", gets)); err != nil {
		t.Fatal(err)
	}

	// held reports the hostile session's pending output and whether it is
	// parked on its write event (reading nothing).
	held := func() (pending int, parked bool) {
		t.Helper()
		err := st.agent.ctx.Scheduler().Run(func() {
			for _, s := range st.agent.sessions {
				if s.c != nil && s.wev.Pending() {
					pending, parked = len(s.c.Output()), true
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return pending, parked
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, parked := held(); parked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the non-reading client's session never waited for its output")
		}
	}
	hits := func() int {
		t.Helper()
		clean.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(clean, "stats\r\n")
		n, err := strconv.Atoi(readStats(t, cr)["get_hits"])
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The client's window starts at 32 KB and does not grow while it does
	// not read; one share of replies is 64 KB plus one value.
	const share = 64<<10 + 100<<10 + 64
	bound := (32<<10+share)/len(val) + 1
	before := hits()
	if before > bound {
		t.Errorf("%d gets answered for a client that reads nothing, want at most %d", before, bound)
	}
	// Other clients keep being served, and the non-reader is not.
	for i := range 50 {
		testwire.Exchange(t, clean, cr, fmt.Sprintf("set k%d 0 0 1\r\nx\r\n", i), "STORED\r\n")
		testwire.Exchange(t, clean, cr, fmt.Sprintf("get k%d\r\n", i), fmt.Sprintf("VALUE k%d 0 1\r\nx\r\nEND\r\n", i))
	}
	if after := hits(); after != before+50 {
		t.Errorf("get_hits went from %d to %d over the clean client's 50 gets: the non-reader was served while it read nothing", before, after)
	}
	if pending, parked := held(); !parked || pending > share {
		t.Errorf("non-reader: parked %v with %d bytes of output held, want parked with at most %d", parked, pending, share)
	}

	// Once it reads, it is served again, in order.
	hr := bufio.NewReader(hostile)
	reply := fmt.Sprintf("VALUE big 0 %d\r\n%s\r\nEND\r\n", len(val), val)
	got := make([]byte, len(reply))
	for i := range bound + 2 {
		if _, err := io.ReadFull(hr, got); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if string(got) != reply {
			t.Fatalf("reply %d damaged", i)
		}
	}
}
