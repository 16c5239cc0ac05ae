package testwire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
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

// Crowd runs n clients at once. Client i gets a connection from dial with
// deadline d set, runs fn on it and closes it. Crowd returns the errors,
// each naming its client; fn may return early to abandon a request.
func Crowd(n int, d time.Duration, dial func() (net.Conn, error), fn func(i int, c net.Conn) error) []error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial()
			if err != nil {
				errs <- fmt.Errorf("client %d: dial: %w", i, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(d))
			if err := fn(i, c); err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// BenchGet stores a value of size bytes under "k" over c, then measures
// "get k" round trips on it, one per iteration: the latency of whatever
// path c leads down.
func BenchGet(b *testing.B, c io.ReadWriter, size int) {
	b.Helper()
	r := bufio.NewReader(c)
	val := bytes.Repeat([]byte("v"), size)
	fmt.Fprintf(c, "set k 0 0 %d\r\n%s\r\n", len(val), val)
	if line, err := r.ReadString('\n'); err != nil || line != "STORED\r\n" {
		b.Fatalf("set: %q, %v", line, err)
	}
	buf := make([]byte, len(fmt.Sprintf("VALUE k 0 %d\r\n", size))+size+len("\r\nEND\r\n"))
	req := []byte("get k\r\n")
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
	}
	if !bytes.HasSuffix(buf, []byte("\r\nEND\r\n")) {
		b.Fatalf("last reply %q is not a hit", buf)
	}
}
