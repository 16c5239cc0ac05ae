package posix

import (
	"bytes"
	"strings"
	"testing"
)

func TestSegmentRoundTrip(t *testing.T) {
	for _, sg := range []segment{
		{op: opConnect, flags: fromInitiator, port: 11211, value: 1 << 18},
		{op: opData, data: []byte("hello")},
		{op: opWindow, value: 4096},
		{op: opReset},
	} {
		got, err := parseSegment(appendSegment(nil, sg))
		if err != nil {
			t.Fatal(err)
		}
		if got.op != sg.op || got.flags != sg.flags || got.port != sg.port || got.value != sg.value || !bytes.Equal(got.data, sg.data) {
			t.Errorf("round trip of %+v gave %+v", sg, got)
		}
	}
}

func FuzzParseSegment(f *testing.F) {
	f.Add(appendSegment(nil, segment{op: opData, data: []byte("x")}))
	f.Add([]byte{})
	f.Add([]byte{9, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		sg, err := parseSegment(p)
		if err != nil {
			return
		}
		again, err := parseSegment(appendSegment(nil, sg))
		if err != nil || again.op != sg.op || !bytes.Equal(again.data, sg.data) {
			t.Fatalf("re-encoding %+v failed: %v", sg, err)
		}
	})
}

func TestOriginWire(t *testing.T) {
	for _, o := range []Origin{
		{},
		{Peer: "tcp:127.0.0.1:57538", Local: "tcp:127.0.0.1:11211"},
		{Peer: "?:<AF 0>", Local: "unix:/run/memcached.sock"},
		{Peer: strings.Repeat("p", maxOriginField), Local: strings.Repeat("l", maxOriginField)},
	} {
		sg, err := parseSegment(appendSegment(nil, segment{op: opConnect, port: 1, data: appendOrigin(nil, o)}))
		if err != nil {
			t.Fatalf("connect carrying %+v: %v", o, err)
		}
		got, err := parseOrigin(sg.data)
		if err != nil || got != o {
			t.Errorf("origin %+v came back as %+v, %v", o, got, err)
		}
	}
	for _, bad := range [][]byte{
		{5, 'a', 'b'},                        // peer shorter than its length
		{1, 'a'},                             // no local field
		{1, 'a', 2, 'b'},                     // local shorter than its length
		{1, 'a', 1, 'b', 'c'},                // trailing byte
		{0, 0, 0, 0, 0, 0, 0x1},              // junk
		append([]byte{6}, "a\r\nEND"[:6]...), // a line break: could forge a line of a reply
	} {
		if o, err := parseOrigin(bad); err == nil {
			t.Errorf("parseOrigin(%q) = %+v, want an error", bad, o)
		}
	}
	long := appendSegment(nil, segment{op: opConnect, data: make([]byte, maxOriginWire+1)})
	if _, err := parseSegment(long); err == nil {
		t.Error("a connect carrying more than an origin's worth of bytes parsed")
	}
}
