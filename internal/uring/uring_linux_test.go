//go:build linux

package uring

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
)

func newRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	r, err := New(entries)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// socketPair returns a connected pair of non-blocking stream sockets.
func socketPair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	return fds[0], fds[1]
}

type result struct {
	n   int
	err error
}

func submit(t *testing.T, r *Ring) []result {
	t.Helper()
	got := make([]result, r.Queued())
	seen := make([]bool, r.Queued())
	if err := r.Submit(func(i, n int, err error) {
		if i < 0 || i >= len(got) || seen[i] {
			t.Fatalf("completion for send %d: out of range or reported twice", i)
		}
		seen[i] = true
		got[i] = result{n, err}
	}); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("send %d never reported", i)
		}
	}
	return got
}

// Every queued send reaches its own socket, whole, and is reported once,
// by its index in queue order; the ring can be reused after a submission.
func TestSendBatchToManySockets(t *testing.T) {
	r := newRing(t, 8)
	for round := 0; round < 3; round++ {
		var peers []int
		var want [][]byte
		for i := 0; i < r.Entries(); i++ {
			a, b := socketPair(t)
			p := bytes.Repeat([]byte{byte('a' + i)}, 100*(i+1)+round)
			if err := r.Send(a, p); err != nil {
				t.Fatal(err)
			}
			peers = append(peers, b)
			want = append(want, p)
		}
		if r.Queued() != r.Entries() {
			t.Fatalf("Queued = %d, want %d", r.Queued(), r.Entries())
		}
		got := submit(t, r)
		if len(got) != len(want) {
			t.Fatalf("round %d: %d completions, want %d", round, len(got), len(want))
		}
		for i, g := range got {
			if g.err != nil || g.n != len(want[i]) {
				t.Fatalf("round %d send %d: n=%d err=%v, want n=%d", round, i, g.n, g.err, len(want[i]))
			}
			buf := make([]byte, 4096)
			n, err := syscall.Read(peers[i], buf)
			if err != nil || !bytes.Equal(buf[:n], want[i]) {
				t.Fatalf("round %d peer %d read %q, %v", round, i, buf[:n], err)
			}
		}
		if r.Queued() != 0 {
			t.Fatalf("Queued after Submit = %d", r.Queued())
		}
	}
}

// A send never blocks: a socket with little room takes part of a buffer,
// then nothing (EAGAIN), while a send to another socket in the same
// submission goes through; a bad descriptor fails alone.
func TestSendShortFullAndBad(t *testing.T) {
	r := newRing(t, 4)
	full, fullPeer := socketPair(t)
	if err := syscall.SetsockoptInt(full, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096); err != nil {
		t.Fatal(err)
	}
	ok, okPeer := socketPair(t)
	big := bytes.Repeat([]byte("x"), 1<<20)
	r.Send(full, big)
	r.Send(ok, []byte("hello"))
	r.Send(-1, []byte("nobody"))
	got := submit(t, r)
	if len(got) != 3 {
		t.Fatalf("%d completions, want 3", len(got))
	}
	if got[0].err != nil || got[0].n <= 0 || got[0].n >= len(big) {
		t.Fatalf("big send: n=%d err=%v, want a short count", got[0].n, got[0].err)
	}
	if got[1].err != nil || got[1].n != 5 {
		t.Fatalf("small send: n=%d err=%v", got[1].n, got[1].err)
	}
	if !errors.Is(got[2].err, syscall.EBADF) {
		t.Fatalf("send to fd -1: %v, want EBADF", got[2].err)
	}
	buf := make([]byte, 16)
	if n, _ := syscall.Read(okPeer, buf); string(buf[:n]) != "hello" {
		t.Fatalf("peer read %q", buf[:n])
	}

	r.Send(full, big)
	got = submit(t, r)
	if len(got) != 1 || !errors.Is(got[0].err, syscall.EAGAIN) {
		t.Fatalf("send to a full socket: %+v, want EAGAIN", got)
	}
	_ = fullPeer
}

// Queuing more sends than the ring has entries is refused, not lost.
func TestSendBeyondEntries(t *testing.T) {
	r := newRing(t, 2)
	a, _ := socketPair(t)
	for i := 0; i < r.Entries(); i++ {
		if err := r.Send(a, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Send(a, []byte("x")); !errors.Is(err, ErrFull) {
		t.Fatalf("Send on a full ring: %v, want ErrFull", err)
	}
	if got := submit(t, r); len(got) != r.Entries() {
		t.Fatalf("%d completions, want %d", len(got), r.Entries())
	}
}

// Submit with nothing queued makes no system call and reports nothing.
func TestSubmitNothing(t *testing.T) {
	r := newRing(t, 2)
	if got := submit(t, r); len(got) != 0 {
		t.Fatalf("completions for nothing: %+v", got)
	}
}

// A closed ring refuses to submit.
func TestSubmitAfterClose(t *testing.T) {
	r, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := socketPair(t)
	r.Send(a, []byte("x"))
	r.Close()
	var errs []error
	if err := r.Submit(func(_, _ int, err error) { errs = append(errs, err) }); err == nil {
		t.Fatal("Submit on a closed ring succeeded")
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrNotSent) {
		t.Fatalf("send on a closed ring reported %v, want ErrNotSent", errs)
	}
}

// The probe New relies on answers yes for the send it uses, and no for an
// operation no kernel has.
func TestProbe(t *testing.T) {
	r := newRing(t, 2)
	if !r.supports(opSend) {
		t.Fatal("IORING_OP_SEND reported unsupported on a ring that sends")
	}
	if r.supports(255) {
		t.Fatal("operation 255 reported supported")
	}
}
