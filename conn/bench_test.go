package conn

import (
	"fmt"
	"strings"
	"testing"
)

func benchConn(b *testing.B, setup, req string) { benchConnTraced(b, nil, setup, req) }

func benchConnTraced(b *testing.B, tr Tracer, setup, req string) {
	r := newRig(b, Settings{})
	if tr != nil {
		r.conn.SetTracer(tr, 1)
	}
	r.run(setup, 0)
	in := []byte(req)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.conn.Feed(in)
		for o := r.conn.Output(); len(o) > 0; o = r.conn.Output() {
			r.conn.Sent(len(o))
		}
	}
}

func BenchmarkConnGet1KB(b *testing.B) {
	benchConn(b, "set key:000001 0 0 1024\r\n"+strings.Repeat("v", 1024)+"\r\n", "get key:000001\r\n")
}

func BenchmarkConnSet1KB(b *testing.B) {
	benchConn(b, "", "set key:000001 0 0 1024\r\n"+strings.Repeat("v", 1024)+"\r\n")
}

func BenchmarkConnMetaGet1KB(b *testing.B) {
	benchConn(b, "set key:000001 0 0 1024\r\n"+strings.Repeat("v", 1024)+"\r\n", "mg key:000001 v f c\r\n")
}

func BenchmarkConnBinaryGet1KB(b *testing.B) {
	benchConn(b, breq(0x11, "key:000001", setExt(0, 0), strings.Repeat("v", 1024)), breq(0x00, "key:000001", "", ""))
}

func BenchmarkConnMultiGet10Keys(b *testing.B) {
	var set, get strings.Builder
	get.WriteString("get")
	for i := 0; i < 10; i++ {
		k := "key:" + strings.Repeat("0", 5) + string(rune('0'+i))
		set.WriteString("set " + k + " 0 0 100\r\n" + strings.Repeat("v", 100) + "\r\n")
		get.WriteString(" " + k)
	}
	get.WriteString("\r\n")
	benchConn(b, set.String(), get.String())
}

// discardTracer is a host's tracer: off below -vv, and at -vv it sees
// every line (and here drops it).
type discardTracer struct{ on bool }

func (t discardTracer) Tracing() bool              { return t.on }
func (discardTracer) Trace(int, TraceKind, []byte) {}

// BenchmarkConnGet1KBTraceOff is a get as the cache agent runs it below
// -vv: a tracer is set and declines, which must cost no allocation.
func BenchmarkConnGet1KBTraceOff(b *testing.B) {
	benchConnTraced(b, discardTracer{}, "set key:000001 0 0 1024\r\n"+strings.Repeat("v", 1024)+"\r\n", "get key:000001\r\n")
}

// BenchmarkConnGet1KBTraceOn is the same get at -vv, the tracer's own cost
// (formatting and logging) left out.
func BenchmarkConnGet1KBTraceOn(b *testing.B) {
	benchConnTraced(b, discardTracer{on: true}, "set key:000001 0 0 1024\r\n"+strings.Repeat("v", 1024)+"\r\n", "get key:000001\r\n")
}

// BenchmarkSendFromItem compares a get answered from a copy of the value
// (copy) with one answered from the pinned item (item), per value size.
// The host copies Output as a socket does, so both pay the copy into the
// message; the copy path pays a second one into the output buffer.
func BenchmarkSendFromItem(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10, 16 << 10, 100 << 10} {
		for _, mode := range []string{"copy", "item"} {
			b.Run(fmt.Sprintf("%dKB/%s", size>>10, mode), func(b *testing.B) {
				old := sendFromItemMin
				defer func() { sendFromItemMin = old }()
				sendFromItemMin = 1 << 30
				if mode == "item" {
					sendFromItemMin = 1
				}
				r := newRig(b, Settings{})
				r.run(fmt.Sprintf("set key:000001 0 0 %d\r\n%s\r\n", size, strings.Repeat("v", size)), 0)
				in := []byte("get key:000001\r\n")
				msg := make([]byte, 0, size+200)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					r.conn.Feed(in)
					msg = msg[:0]
					for o := r.conn.Output(); len(o) > 0; o = r.conn.Output() {
						msg = append(msg, o...)
						r.conn.Sent(len(o))
					}
				}
			})
		}
	}
}
