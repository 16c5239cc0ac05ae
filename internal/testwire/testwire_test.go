package testwire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
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
