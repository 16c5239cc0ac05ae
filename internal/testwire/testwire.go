package testwire

import (
	"bufio"
	"fmt"
	"io"
	"testing"
	"time"
)

// ReplyTimeout bounds how long Exchange waits for a reply on connections
// that have deadlines.
const ReplyTimeout = 10 * time.Second

type deadliner interface{ SetDeadline(time.Time) error }

// Exchange writes req and reads exactly len(want) bytes back through r,
// failing the test unless they are want. On a connection with deadlines
// (net.Conn, tls.Conn) it first allows ReplyTimeout for the exchange.
func Exchange(t testing.TB, c io.ReadWriter, r *bufio.Reader, req, want string) {
	t.Helper()
	if d, ok := c.(deadliner); ok {
		d.SetDeadline(time.Now().Add(ReplyTimeout))
	}
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("write %q: %v", req, err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("request %q: read: %v (got %q so far, want %q)", req, err, got, want)
	}
	if string(got) != want {
		t.Fatalf("request %q:\n got %q\nwant %q", req, got, want)
	}
}

// SetGet stores n keys named prefix-0 .. prefix-(n-1), each holding its own
// name, and reads each back straight after storing it: what one of many
// concurrent clients does in the stress tests. It returns the first
// difference rather than failing, so it can run on any goroutine.
func SetGet(c io.Writer, r *bufio.Reader, prefix string, n int) error {
	for j := range n {
		key := fmt.Sprintf("%s-%d", prefix, j)
		if _, err := fmt.Fprintf(c, "set %s 0 0 %d\r\n%s\r\nget %s\r\n", key, len(key), key, key); err != nil {
			return fmt.Errorf("%s: write: %w", key, err)
		}
		want := fmt.Sprintf("STORED\r\nVALUE %s 0 %d\r\n%s\r\nEND\r\n", key, len(key), key)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
			return fmt.Errorf("%s: got %q, want %q (%v)", key, got, want, err)
		}
	}
	return nil
}
