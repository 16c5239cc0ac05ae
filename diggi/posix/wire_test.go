package posix

import (
	"bytes"
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
