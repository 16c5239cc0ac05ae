package posix

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

// The receive buffer hands bytes out in order across partial reads,
// compacts instead of growing, and keeps only modest memory once drained.
func TestSocketRecvBuffer(t *testing.T) {
	tests := []struct {
		name     string
		segments []int // sizes of successive segments
		read     int   // bytes read after each segment
		window   int   // the socket's window; 0 means DefaultRecvBuffer
		wantKept bool  // buffer memory kept after the final drain
	}{
		{name: "read whole segments", segments: []int{100, 200, 300}, read: 1000, wantKept: true},
		{name: "partial reads compact", segments: []int{700, 700, 700, 700}, read: 500, wantKept: true},
		{name: "burst above keepRecv is released", segments: []int{keepRecv, keepRecv}, read: 10, wantKept: false},
		{name: "buffer above a window that shrank is released", window: 4096, segments: []int{8192}, read: 10000, wantKept: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk := &socket{rcvBuf: DefaultRecvBuffer}
			if tt.window > 0 {
				sk.rcvBuf = tt.window
			}
			var sent, got []byte
			next := byte(0)
			buf := make([]byte, tt.read)
			for _, size := range tt.segments {
				seg := make([]byte, size)
				for i := range seg {
					seg[i] = next
					next++
				}
				sent = append(sent, seg...)
				sk.enqueue(seg)
				clear(seg) // the message is transient: the socket must have copied it
				if sk.rqLen != len(sent)-len(got) {
					t.Fatalf("rqLen %d, want %d", sk.rqLen, len(sent)-len(got))
				}
				n := sk.take(buf)
				got = append(got, buf[:n]...)
			}
			for sk.rqLen > 0 {
				n := sk.take(buf)
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, sent) {
				t.Fatalf("read %d bytes that differ from the %d sent", len(got), len(sent))
			}
			if kept := sk.rq != nil; kept != tt.wantKept {
				t.Errorf("buffer kept = %v (cap %d), want %v", kept, cap(sk.rq), tt.wantKept)
			}
			if sk.rqOff != 0 || len(sk.rq) != 0 {
				t.Errorf("drained buffer: off %d len %d, want 0 0", sk.rqOff, len(sk.rq))
			}
		})
	}
}

// Steady request traffic (enqueue a segment, read it all) reuses memory.
func TestSocketRecvBufferSteadyStateAllocs(t *testing.T) {
	sk := &socket{rcvBuf: minWindow}
	seg := make([]byte, 1100)
	buf := make([]byte, 2048)
	allocs := testing.AllocsPerRun(100, func() {
		sk.enqueue(seg)
		sk.take(buf)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per segment, want 0", allocs)
	}
}

// The preallocated would-block errors behave like wrapped errnos.
func TestWouldBlockErrors(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errReadAgain, "read: "},
		{errWriteAgain, "write: "},
		{errAcceptAgain, "accept: "},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, syscall.EAGAIN) || !errors.Is(tt.err, EAGAIN) {
			t.Errorf("%v: not EAGAIN", tt.err)
		}
		if errors.Is(tt.err, syscall.EBADF) {
			t.Errorf("%v: matches EBADF", tt.err)
		}
		if want := tt.want + syscall.EAGAIN.Error(); tt.err.Error() != want {
			t.Errorf("message %q, want %q", tt.err.Error(), want)
		}
	}
}
