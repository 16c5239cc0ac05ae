package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// relays are the two ways the server moves bytes; behavioural tests run
// against both.
var relays = []string{"epoll", "goroutine"}

// eachRelay runs fn once per relay, passing the flags that select it.
func eachRelay(t *testing.T, fn func(t *testing.T, relay string)) {
	for _, r := range relays {
		t.Run(r, func(t *testing.T) { fn(t, "relay="+r) })
	}
}

// startServer runs a server on an ephemeral loopback port with extra
// memcached flags and stops it when the test ends.
func startServer(t testing.TB, args ...string) (*Server, string) {
	t.Helper()
	set, err := config.Parse(append([]string{"-l", "127.0.0.1:0"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(set, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		s.Shutdown()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return s, s.Addrs()[0].String()
}

func dial(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func roundTrip(t testing.TB, c net.Conn, r *bufio.Reader, req, want string) {
	t.Helper()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("%q: %v (got %q)", req, err, got)
	}
	if string(got) != want {
		t.Fatalf("%q: got %q, want %q", req, got, want)
	}
}

func TestServeSetGetAcrossConnections(t *testing.T) {
	eachRelay(t, func(t *testing.T, relay string) {
		_, addr := startServer(t, "-o", relay)
		c1, r1 := dial(t, addr)
		c2, r2 := dial(t, addr)
		roundTrip(t, c1, r1, "set k 1 0 3\r\nabc\r\n", "STORED\r\n")
		roundTrip(t, c2, r2, "get k\r\n", "VALUE k 1 3\r\nabc\r\nEND\r\n")
	})
}

// TestLargePipelineYields: more requests than -R in one write are all
// answered, in order, across the connection's yields.
func TestLargePipelineYields(t *testing.T) {
	eachRelay(t, func(t *testing.T, relay string) {
		s, addr := startServer(t, "-R", "2", "-o", relay)
		c, r := dial(t, addr)
		var req, want strings.Builder
		for i := 0; i < 100; i++ {
			req.WriteString("mn\r\n")
			want.WriteString("MN\r\n")
		}
		roundTrip(t, c, r, req.String(), want.String())
		if y := s.Cache().Shared().ConnYields.Load(); y == 0 {
			t.Error("conn_yields = 0 after 100 pipelined requests with -R 2")
		}
	})
}

func TestConnLimitRejects(t *testing.T) {
	eachRelay(t, func(t *testing.T, relay string) {
		_, addr := startServer(t, "-c", "1", "-o", relay)
		c, r := dial(t, addr)
		roundTrip(t, c, r, "mn\r\n", "MN\r\n")
		extra, er := dial(t, addr)
		got, err := io.ReadAll(er)
		if err != nil || string(got) != tooManyConns {
			t.Fatalf("over the limit: %q, %v", got, err)
		}
		extra.Close()
	})
}

func TestConnLimitWithoutFastWaits(t *testing.T) {
	eachRelay(t, func(t *testing.T, relay string) {
		_, addr := startServer(t, "-c", "1", "-o", "no_maxconns_fast", "-o", relay)
		c, r := dial(t, addr)
		roundTrip(t, c, r, "mn\r\n", "MN\r\n")
		// The second client is not accepted (the kernel queues it) until the
		// first leaves.
		c2, r2 := dial(t, addr)
		c2.Write([]byte("mn\r\n"))
		c2.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := r2.ReadByte(); err == nil {
			t.Fatal("second client served while the first holds the only slot")
		}
		c.Close()
		c2.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := r2.ReadString('\n')
		if err != nil || line != "MN\r\n" {
			t.Fatalf("after the slot freed: %q, %v", line, err)
		}
	})
}

func TestIdleTimeoutCloses(t *testing.T) {
	eachRelay(t, func(t *testing.T, relay string) {
		_, addr := startServer(t, "-o", "idle_timeout=1", "-o", relay)
		_, r := dial(t, addr)
		start := time.Now()
		if _, err := r.ReadByte(); err != io.EOF {
			t.Fatalf("idle connection: %v, want EOF", err)
		}
		if d := time.Since(start); d < 900*time.Millisecond || d > 4*time.Second {
			t.Errorf("closed after %v, want about 1s", d)
		}
	})
}

func TestShutdownCommandStopsServer(t *testing.T) {
	eachRelay(t, func(t *testing.T, relay string) {
		s, addr := startServer(t, "-A", "-o", relay)
		c, _ := dial(t, addr)
		c.Write([]byte("shutdown\r\n"))
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("shutdown command did not stop the server")
		}
	})
}

func TestServeTwice(t *testing.T) {
	s, _ := startServer(t)
	deadline := time.Now().Add(5 * time.Second)
	for !s.served.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := s.Serve(); err == nil {
		t.Fatal("second Serve succeeded")
	}
}

func TestNewRejectsWhatOnlyStartupCanCheck(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-Y", "/nonexistent/auth"}, "could not load auth file"},
		{[]string{"-I", "200m", "-m", "1024"}, "cannot exceed"},
		{[]string{"-l", "127.0.0.1:1"}, "failed to listen"}, // privileged port, or taken
	}
	for _, tt := range tests {
		set, err := config.Parse(tt.args)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		s, err := New(set, io.Discard)
		if err == nil {
			// Running as root binds port 1; that case proves nothing.
			s.Shutdown()
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%v) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestVerboseLogging(t *testing.T) {
	set, err := config.Parse([]string{"-l", "127.0.0.1:0", "-vvv"})
	if err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuf
	s, err := New(set, &logBuf)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	c, r := dial(t, s.Addrs()[0].String())
	roundTrip(t, c, r, "get some_key\r\n", "END\r\n")
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logBuf.String(), "connection closed.") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s.Shutdown()
	<-done
	for _, want := range []string{"new auto-negotiating client connection", `get some_key`, "connection closed."} {
		if !strings.Contains(logBuf.String(), want) {
			t.Errorf("-vvv log lacks %q:\n%s", want, logBuf.String())
		}
	}
}

type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestBackpressure: answers far larger than the socket buffers (twenty 1 MB
// values requested before reading any) arrive whole and in order, through
// partial writes.
func TestBackpressure(t *testing.T) {
	eachRelay(t, func(t *testing.T, relay string) {
		_, addr := startServer(t, "-m", "64", "-o", relay)
		c, r := dial(t, addr)
		c.SetDeadline(time.Now().Add(60 * time.Second)) // 20 MB under -race on a loaded machine
		value := strings.Repeat("b", 1000*1000)
		roundTrip(t, c, r, "set big 0 0 1000000\r\n"+value+"\r\n", "STORED\r\n")
		const n = 20
		if _, err := c.Write([]byte(strings.Repeat("get big\r\n", n) + "mn\r\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // let the server fill the socket buffers
		one := "VALUE big 0 1000000\r\n" + value + "\r\nEND\r\n"
		got := make([]byte, len(one))
		for i := 0; i < n; i++ {
			if _, err := io.ReadFull(r, got); err != nil {
				t.Fatalf("answer %d: %v", i, err)
			}
			if string(got) != one {
				t.Fatalf("answer %d differs", i)
			}
		}
		if line, err := r.ReadString('\n'); err != nil || line != "MN\r\n" {
			t.Fatalf("after the values: %q, %v", line, err)
		}
	})
}
