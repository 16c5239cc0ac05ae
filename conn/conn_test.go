package conn

import (
	"strings"
	"testing"
)

func TestProtocolSelection(t *testing.T) {
	bin := breq(0x0b, "", "", "")
	tests := []struct {
		name string
		set  Settings
		in   string
		want string
	}{
		{"auto binary", Settings{}, bin, decodeBin("")},
		{"auto ascii", Settings{}, "version\r\n", "VERSION 1.6.18\r\n"},
		{"ascii only sees binary as text", Settings{Protocol: ProtocolASCII}, bin + "\r\n", "ERROR\r\n"},
		{"binary only", Settings{Protocol: ProtocolBinary}, "version\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.set)
			got := r.run(tt.in, 0)
			if tt.name == "auto binary" {
				if d := decodeBin(got); d != "0xb/0x0 cas=0 ext= key=\"\" val=\"1.6.18\"\n" {
					t.Fatalf("got %s", d)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	// Binary-only closes on a text request: "vers" is not the request magic.
	r := newRig(t, Settings{Protocol: ProtocolBinary})
	r.run("version\r\nversion\r\nversion\r\nversion\r\n", 0)
	if !r.conn.Closed() {
		t.Fatal("binary-only connection did not close on bad magic")
	}
}

// TestReqsPerEvent checks -R: a connection yields after R requests with
// input left, counts a yield, and finishes on the next Process.
func TestReqsPerEvent(t *testing.T) {
	r := newRig(t, Settings{ReqsPerEvent: 2})
	more := r.conn.Feed([]byte("version\r\nversion\r\nversion\r\nversion\r\nversion\r\n"))
	if !more {
		t.Fatal("no yield after 2 of 5 requests")
	}
	if got := string(r.conn.Output()); got != strings.Repeat("VERSION 1.6.18\r\n", 2) {
		t.Fatalf("first batch %q", got)
	}
	if !r.conn.Process() {
		t.Fatal("no yield after 4 of 5 requests")
	}
	if r.conn.Process() {
		t.Fatal("yield with nothing left")
	}
	if got := string(r.conn.Output()); got != strings.Repeat("VERSION 1.6.18\r\n", 5) {
		t.Fatalf("output %q", got)
	}
	if n := r.shared.ConnYields.Load(); n != 2 {
		t.Fatalf("conn_yields = %d, want 2", n)
	}
}

func TestShutdownAndVerbosity(t *testing.T) {
	r := newRig(t, Settings{ShutdownEnabled: true})
	if got := r.run("shutdown bogus\r\nverbosity 5\r\nverbosity 1 noreply\r\n", 0); got != "CLIENT_ERROR invalid shutdown mode\r\nOK\r\n" {
		t.Fatalf("got %q", got)
	}
	if r.host.verbosity != 1 {
		t.Fatalf("verbosity %d, want 1", r.host.verbosity)
	}
	if got := r.run("shutdown graceful\r\nversion\r\n", 0); got != "" || !r.conn.Closed() {
		t.Fatalf("graceful shutdown: got %q closed=%v", got, r.conn.Closed())
	}
	if len(r.host.shutdowns) != 1 || !r.host.shutdowns[0] {
		t.Fatalf("shutdowns %v", r.host.shutdowns)
	}
	r = newRig(t, Settings{ShutdownEnabled: true})
	r.run("shutdown\r\n", 0)
	if len(r.host.shutdowns) != 1 || r.host.shutdowns[0] || !r.conn.Closed() {
		t.Fatalf("shutdown: %v closed=%v", r.host.shutdowns, r.conn.Closed())
	}
}

func TestFlushDisabled(t *testing.T) {
	r := newRig(t, Settings{FlushDisabled: true})
	if got := r.run("flush_all\r\n", 0); got != "CLIENT_ERROR flush_all not allowed\r\n" {
		t.Fatalf("text: %q", got)
	}
	r = newRig(t, Settings{FlushDisabled: true})
	if got := decodeBin(r.run(breq(0x08, "", "", ""), 0)); got != "0x8/0x20 cas=0 ext= key=\"\" val=\"Auth failure.\"\n" {
		t.Fatalf("binary: %s", got)
	}
}

func TestFeedAfterClose(t *testing.T) {
	r := newRig(t, Settings{})
	if got := r.run("quit\r\nversion\r\n", 0); got != "" || !r.conn.Closed() {
		t.Fatalf("quit: %q closed=%v", got, r.conn.Closed())
	}
	if r.conn.Feed([]byte("version\r\n")) || len(r.conn.Output()) != 0 {
		t.Fatal("closed connection processed input")
	}
	r.conn.Close()
	if r.conn.State() != "conn_closing" {
		t.Fatalf("state %q", r.conn.State())
	}
}

func TestPartialSent(t *testing.T) {
	r := newRig(t, Settings{})
	r.conn.Feed([]byte("version\r\n"))
	r.conn.Sent(3)
	r.conn.Feed([]byte("version\r\n"))
	if got := string(r.conn.Output()); got != "SION 1.6.18\r\nVERSION 1.6.18\r\n" {
		t.Fatalf("output after partial send %q", got)
	}
	r.conn.Sent(100)
	if len(r.conn.Output()) != 0 || r.shared.BytesWritten.Load() != 32 {
		t.Fatalf("output %q written %d", r.conn.Output(), r.shared.BytesWritten.Load())
	}
}

// TestLargeValueLinear feeds a 1 MB value in small reads: the connection
// must buffer it once (no rescans) and store it.
func TestLargeValueLinear(t *testing.T) {
	r := newRig(t, Settings{})
	val := strings.Repeat("v", 1000000)
	got := r.run("set big 0 0 1000000\r\n"+val+"\r\nget big\r\n", 4096)
	if got != "STORED\r\nVALUE big 0 1000000\r\n"+val+"\r\nEND\r\n" {
		t.Fatalf("large value round trip failed (%d bytes back)", len(got))
	}
}

// TestIdleReleasesLargeBuffers: an idle connection holds no input buffer
// and at most maxIdleBuffer of output buffer.
func TestIdleReleasesLargeBuffers(t *testing.T) {
	r := newRig(t, Settings{})
	r.run("set big 0 0 500000\r\n"+strings.Repeat("v", 500000)+"\r\n", 0)
	if cap(r.conn.in) != 0 || r.conn.req.Value != nil {
		t.Fatalf("idle connection keeps %d bytes of input buffer", cap(r.conn.in))
	}
	// An incomplete request keeps only itself, copied out of the caller's
	// buffer, which the caller may then overwrite.
	in := []byte("get big\r\nget bi")
	r.conn.Feed(in)
	if got := string(r.conn.in[r.conn.off:]); got != "get bi" || cap(r.conn.in) > minInputBuffer {
		t.Fatalf("kept %q in %d bytes", got, cap(r.conn.in))
	}
	copy(in, "XXXXXXXXXXXXXXXX")
	drain(r.conn)
	if got := r.run("g\r\n", 0); !strings.HasPrefix(got, "VALUE big ") {
		t.Fatalf("rest of the request: %.40q", got)
	}
	if cap(r.conn.in) != 0 {
		t.Fatalf("drained input buffer of %d bytes kept", cap(r.conn.in))
	}
	r.run("get big\r\n", 0)
	if cap(r.conn.out) > maxIdleBuffer {
		t.Fatalf("idle connection keeps %d bytes of output buffer", cap(r.conn.out))
	}
}

func TestStates(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "conn_waiting"},
		{"get k", "conn_read"},
		{"set k 0 0 10\r\nabc", "conn_nread"},
		{breq(0x01, "k", setExt(0, 0), "hello")[:30], "conn_nread"},
		{breq(0x01, "k", setExt(0, 0), "hello")[:10], "conn_read"},
		{"set k 0 0 2000000\r\nabc", "conn_swallow"},
		{"quit\r\n", "conn_closing"},
	}
	for _, tt := range tests {
		r := newRig(t, Settings{})
		r.run(tt.in, 0)
		if got := r.conn.State(); got != tt.want {
			t.Errorf("after %q: state %q, want %q", tt.in, got, tt.want)
		}
	}
}
