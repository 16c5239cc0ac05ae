package testwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// echoCache answers like a memcached holding whatever was set, for the
// replies SetGet expects: "STORED" then the value just stored.
func echoCache(t *testing.T, srv net.Conn, corrupt bool) {
	defer srv.Close()
	r := bufio.NewReader(srv)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		var key string
		var flags, exp, n int
		if _, err := fmt.Sscanf(line, "set %s %d %d %d\r\n", &key, &flags, &exp, &n); err != nil {
			t.Errorf("unexpected request %q", line)
			return
		}
		val := make([]byte, n+2)
		io.ReadFull(r, val)
		r.ReadString('\n') // the get
		if corrupt {
			val[0] ^= 1
		}
		io.WriteString(srv, "STORED\r\nVALUE "+key+" 0 "+strconv.Itoa(n)+"\r\n"+string(val)+"END\r\n")
	}
}

func TestSetGet(t *testing.T) {
	for _, tt := range []struct {
		name    string
		corrupt bool
	}{{"faithful", false}, {"corrupting", true}} {
		t.Run(tt.name, func(t *testing.T) {
			cli, srv := net.Pipe()
			defer cli.Close()
			go echoCache(t, srv, tt.corrupt)
			err := SetGet(cli, bufio.NewReader(cli), "c1", 3)
			if (err != nil) != tt.corrupt {
				t.Fatalf("SetGet: %v, want error %v", err, tt.corrupt)
			}
			if tt.corrupt && !strings.Contains(err.Error(), "c1-0") {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}

// TestExchange: a matching reply passes; a wrong one fails the test.
func TestExchange(t *testing.T) {
	var rw bytes.Buffer
	rw.WriteString("STORED\r\n")
	Exchange(t, &rw, bufio.NewReader(&rw), "", "STORED\r\n")

	rec := &recorder{TB: t}
	var wrong bytes.Buffer
	wrong.WriteString("NOT_STORED\r\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		Exchange(rec, &wrong, bufio.NewReader(&wrong), "", "STORED\r\n")
	}()
	<-done
	if !rec.failed {
		t.Error("Exchange accepted a wrong reply")
	}
}

// recorder notes Fatalf instead of stopping the real test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(string, ...any) {
	r.failed = true
	runtime.Goexit()
}

// TestCrowd: every client runs on its own connection; failures and dial
// errors come back naming the client.
func TestCrowd(t *testing.T) {
	dial := func() (net.Conn, error) {
		cli, srv := net.Pipe()
		go func() { io.Copy(srv, srv); srv.Close() }()
		return cli, nil
	}
	errs := Crowd(20, 5*time.Second, dial, func(i int, c net.Conn) error {
		if i == 7 {
			return errors.New("refused")
		}
		msg := fmt.Sprintf("client %d\n", i)
		io.WriteString(c, msg)
		got, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || got != msg {
			return fmt.Errorf("echo %q, %v", got, err)
		}
		return nil
	})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "client 7: refused") {
		t.Errorf("errors %v, want only client 7's", errs)
	}
	bad := Crowd(2, time.Second, func() (net.Conn, error) { return nil, errors.New("no route") }, nil)
	if len(bad) != 2 || !strings.Contains(bad[0].Error(), "dial: no route") {
		t.Errorf("dial errors %v", bad)
	}
}

// BenchmarkBenchGetPipe1KB runs BenchGet against the echoing fake cache
// over net.Pipe: the cost of the harness itself.
func BenchmarkBenchGetPipe1KB(b *testing.B) {
	cli, srv := net.Pipe()
	defer cli.Close()
	go fakeGets(srv, 1024)
	BenchGet(b, cli, 1024)
}

// fakeGets answers one set with STORED and then every line with a hit of
// a size-byte value.
func fakeGets(srv net.Conn, size int) {
	defer srv.Close()
	r := bufio.NewReader(srv)
	r.ReadString('\n')
	io.CopyN(io.Discard, r, int64(size)+2)
	io.WriteString(srv, "STORED\r\n")
	hit := []byte(fmt.Sprintf("VALUE k 0 %d\r\n%s\r\nEND\r\n", size, strings.Repeat("v", size)))
	for {
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		if _, err := srv.Write(hit); err != nil {
			return
		}
	}
}
