package posix

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"syscall"
	"testing"
)

// connectN opens n connections from s to the agent named server.
func connectN(t *testing.T, s *Sys, server string, port uint16, n int) []int {
	t.Helper()
	fds := make([]int, n)
	for i := range fds {
		fd, _ := s.Socket()
		if err := s.ConnectName(fd, server, port); err != nil {
			t.Fatal(err)
		}
		fds[i] = fd
	}
	return fds
}

func TestCorkSendsOneMessageForManySockets(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	echoServer(t, ctxs["server"], 7)
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fds := connectN(t, s, "server", 7, 8)
		msgs := make([][]byte, len(fds))
		before := s.Context().Messages().Stats().Sent
		s.Cork()
		for i, fd := range fds {
			msgs[i] = []byte(fmt.Sprintf("request %d %s", i, bytes.Repeat([]byte{'x'}, i*50)))
			if n, err := s.Write(fd, msgs[i]); err != nil || n != len(msgs[i]) {
				t.Fatalf("corked write %d: %d, %v", i, n, err)
			}
		}
		if sent := s.Context().Messages().Stats().Sent - before; sent != 0 {
			t.Errorf("%d messages sent while corked, want 0", sent)
		}
		s.Uncork()
		if sent := s.Context().Messages().Stats().Sent - before; sent != 1 {
			t.Errorf("%d messages for %d corked writes, want 1", sent, len(fds))
		}
		for i, fd := range fds {
			got := make([]byte, len(msgs[i]))
			if _, err := io.ReadFull(reader{s, fd}, got); err != nil || !bytes.Equal(got, msgs[i]) {
				t.Errorf("socket %d echoed %q, %v", i, got, err)
			}
			s.Close(fd)
		}
	}), "client")
}

// A FIN, a large write and a blocking read each send the held data first,
// so a socket's bytes and its half-close arrive in the order they were made.
func TestCorkKeepsSegmentOrder(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	echoServer(t, ctxs["server"], 7)
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		fds := connectN(t, s, "server", 7, 2)
		big := bytes.Repeat([]byte("0123456789abcdef"), maxBatched/16+100) // too big to batch
		s.Cork()
		want := []byte{}
		for _, p := range [][]byte{[]byte("small first, "), big, []byte(", small last")} {
			if _, err := s.Write(fds[0], p); err != nil {
				t.Fatal(err)
			}
			want = append(want, p...)
		}
		if _, err := s.Write(fds[1], []byte("then EOF")); err != nil {
			t.Fatal(err)
		}
		if err := s.Shutdown(fds[1], syscall.SHUT_WR); err != nil {
			t.Fatal(err)
		}
		// Still corked: the blocking reads below must not wait for data
		// the cork holds.
		got, err := io.ReadAll(io.LimitReader(reader{s, fds[0]}, int64(len(want))))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("socket 0 echoed %d bytes (%v), want %d in order", len(got), err, len(want))
		}
		got, err = io.ReadAll(reader{s, fds[1]})
		if err != nil || string(got) != "then EOF" {
			t.Errorf("socket 1 echoed %q, %v; want the data, then EOF", got, err)
		}
		s.Uncork()
		for _, fd := range fds {
			s.Close(fd)
		}
	}), "client")
}

// batchOf builds a batch payload from (session, data) records.
func batchOf(recs ...any) []byte {
	b := appendSegment(nil, segment{op: opBatch, value: uint32(len(recs) / 2)})
	for i := 0; i < len(recs); i += 2 {
		data := []byte(recs[i+1].(string))
		b = binary.BigEndian.AppendUint64(b, recs[i].(uint64))
		b = append(b, fromInitiator)
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
	}
	return b
}

// A malformed batch is dropped whole: none of its records is applied.
func TestMalformedBatchIsDropped(t *testing.T) {
	_, ctxs := boot(t, "server", "client")
	lfd := listen(t, ctxs["server"], 7)
	var cfd int
	var session uint64
	wait(t, spawn(t, ctxs["client"], func(s *Sys) {
		cfd = connectN(t, s, "server", 7, 1)[0]
		_, session, _ = s.Session(cfd)
	}), "connect")
	client, _ := ctxs["client"].Directory().Lookup("client")
	good := batchOf(session, "abc", session, "def")
	wrongCount := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(wrongCount[4:], 3)
	overlong := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(overlong[segHeader+9:], 1000)
	cases := map[string][]byte{
		"wrong count":       wrongCount,
		"record too long":   overlong,
		"trailing bytes":    append(append([]byte(nil), good...), 1, 2),
		"truncated header":  good[:segHeader+5],
		"no records":        batchOf(),
		"zero count, bytes": append(appendSegment(nil, segment{op: opBatch}), good[segHeader:]...),
	}
	wait(t, spawn(t, ctxs["server"], func(s *Sys) {
		fd, _, err := s.Accept(lfd)
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range cases {
			sg, err := parseSegment(p)
			if err != nil {
				continue // refused even earlier
			}
			s.onBatch(client.ID, sg)
			if ev := s.PollFD(fd); ev&PollIn != 0 {
				t.Errorf("%s: batch applied in part", name)
			}
		}
		sg, err := parseSegment(good)
		if err != nil {
			t.Fatal(err)
		}
		s.onBatch(client.ID, sg)
		buf := make([]byte, 10)
		if n, err := s.Read(fd, buf); string(buf[:n]) != "abcdef" {
			t.Errorf("good batch delivered %q, %v", buf[:n], err)
		}
	}), "server")
}

// FuzzCheckBatch: a batch checkBatch accepts can be walked record by
// record without running past its payload.
func FuzzCheckBatch(f *testing.F) {
	f.Add(batchOf(uint64(1), "get k\r\n", uint64(2), "x"))
	f.Add(batchOf())
	f.Add([]byte{byte(opBatch), 0, 0, 0, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, p []byte) {
		sg, err := parseSegment(p)
		if err != nil || sg.op != opBatch || checkBatch(sg) != nil {
			return
		}
		rest := sg.data
		for i := uint32(0); i < sg.value; i++ {
			_, rest = nextRecord(rest)
		}
		if len(rest) != 0 {
			t.Fatalf("accepted batch leaves %d bytes", len(rest))
		}
	})
}
