package diggichannel

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/posix"
)

// dropSegment drops the k-th socket data segment (a TypeNetIO message
// larger than minLen) that alice sends, as a hostile host may.
type dropSegment struct {
	k, minLen int

	mu      sync.Mutex
	alice   diggi.AgentID
	n       int
	dropped bool
}

func (r *dropSegment) Route(m *diggi.Message, fwd diggi.Forwarder) {
	r.mu.Lock()
	drop := false
	if m.Src == r.alice && m.Type == diggi.TypeNetIO && len(m.Payload()) > r.minLen {
		drop = r.n == r.k
		r.n++
	}
	r.dropped = r.dropped || drop
	r.mu.Unlock()
	if drop {
		diggi.Release(m)
		return
	}
	_ = fwd.Forward(m)
}

// TestStreamWithADroppedSegmentIsReset: a host that drops one sealed
// segment of a socket stream between two trusted agents breaks their
// channel, and the pair re-handshakes. The stream itself must not go on
// across the gap: the receiver reads an unbroken prefix of what was sent
// and then ECONNRESET, and the sender learns of the reset too, instead of
// the receiver reading later bytes behind the hole.
func TestStreamWithADroppedSegmentIsReset(t *testing.T) {
	const (
		records = 64
		size    = 1024
		port    = 7
	)
	r := &dropSegment{k: 8, minLen: size / 2}
	tb := newTestbed(t, bedOptions{trusted: [2]bool{true, true}, router: r})
	r.mu.Lock()
	r.alice = tb.info(t, "alice").ID
	r.mu.Unlock()
	var sent bytes.Buffer
	for i := range records {
		sent.Write(bytes.Repeat([]byte{byte('A' + i%26)}, size-1))
		sent.WriteByte('\n')
	}

	listening := make(chan struct{})
	var got []byte
	var readErr error
	bobDone := tb.spawn(t, "bob", func(s *posix.Sys) {
		lfd, err := s.Socket()
		if err == nil {
			err = s.Listen(lfd, port, 0)
		}
		close(listening)
		if err != nil {
			readErr = err
			return
		}
		fd, _, err := s.Accept(lfd)
		if err != nil {
			readErr = err
			return
		}
		buf := make([]byte, 4096)
		for {
			n, err := s.Read(fd, buf)
			got = append(got, buf[:n]...)
			if err != nil || n == 0 {
				readErr = err
				return
			}
		}
	})
	<-listening
	var writeErr error
	aliceDone := tb.spawn(t, "alice", func(s *posix.Sys) {
		fd, err := s.Socket()
		if err == nil {
			err = s.ConnectName(fd, "bob", port)
		}
		for p := sent.Bytes(); err == nil && len(p) > 0; {
			var n int
			n, err = s.Write(fd, p[:min(size, len(p))])
			p = p[n:]
		}
		if err == nil {
			// All of it was taken into the window; the reset comes
			// back to a read.
			_, err = s.Read(fd, make([]byte, 1))
		}
		writeErr = err
	})
	waitFor(t, bobDone, "bob's read to end")
	waitFor(t, aliceDone, "alice to learn of the reset")
	r.mu.Lock()
	dropped := r.dropped
	r.mu.Unlock()
	if !dropped {
		t.Fatal("no segment was dropped")
	}
	if !bytes.HasPrefix(sent.Bytes(), got) {
		i := 0
		for i < len(got) && got[i] == sent.Bytes()[i] {
			i++
		}
		t.Fatalf("bob read %d bytes that are not what alice sent from byte %d on: the stream went on across the gap", len(got), i)
	}
	if len(got) == sent.Len() {
		t.Fatal("bob read the whole stream though a segment was dropped")
	}
	if !errors.Is(readErr, posix.ECONNRESET) {
		t.Fatalf("bob's read ended with %v after %d bytes, want ECONNRESET", readErr, len(got))
	}
	if !errors.Is(writeErr, posix.ECONNRESET) && !errors.Is(writeErr, posix.EPIPE) {
		t.Fatalf("alice ended with %v, want ECONNRESET or EPIPE", writeErr)
	}
}

// spawn runs fn as a task of the named agent, with its POSIX layer, and
// returns a channel closed when fn returns.
func (tb *testbed) spawn(t *testing.T, name string, fn func(*posix.Sys)) <-chan struct{} {
	t.Helper()
	ctx, ok := tb.in.Context(name)
	if !ok {
		t.Fatalf("no agent %s", name)
	}
	done := make(chan struct{})
	if err := ctx.Scheduler().Schedule(func() {
		defer close(done)
		fn(posix.For(ctx))
	}); err != nil {
		t.Fatal(err)
	}
	return done
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
