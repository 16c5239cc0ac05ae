package protocol

import (
	"strconv"
	"strings"
	"testing"
)

// benchTextParse parses in, one whole request, per iteration.
func benchTextParse(b *testing.B, in string) {
	data := []byte(in)
	var p TextParser
	var req Request
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if n, _ := p.Parse(data, &req); n != len(data) {
			b.Fatal("short parse")
		}
	}
}

func BenchmarkTextParseGet(b *testing.B) { benchTextParse(b, "get some:key:12345\r\n") }

func BenchmarkTextParseSet1KB(b *testing.B) {
	benchTextParse(b, "set some:key:12345 0 0 1024\r\n"+strings.Repeat("v", 1024)+"\r\n")
}

func BenchmarkTextParseMetaGet(b *testing.B) {
	benchTextParse(b, "mg some:key:12345 v c f t k O123\r\n")
}

func BenchmarkBinParseSet1KB(b *testing.B) {
	in := AppendBinRequest(nil, OpSet, 1, 0, make([]byte, 8), []byte("some:key:12345"), make([]byte, 1024))
	var p BinParser
	var req BinRequest
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n, _ := p.Parse(in, &req); n != len(in) {
			b.Fatal("short parse")
		}
	}
}

// BenchmarkTextParse1MBValueIn4KBReads feeds a 1 MB set in 4 KB reads the
// way a connection does, honouring need; it guards against quadratic
// rescanning or copying.
func BenchmarkTextParse1MBValueIn4KBReads(b *testing.B) {
	val := strings.Repeat("v", 1<<20-100)
	in := []byte("set k 0 0 " + strconv.Itoa(len(val)) + "\r\n" + val + "\r\n")
	p := TextParser{MaxItemSize: 2 << 20}
	var req Request
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		buf, need, got := buf[:0], 0, 0
		for i := 0; i < len(in); i += 4096 {
			buf = append(buf, in[i:min(i+4096, len(in))]...)
			if len(buf) < need {
				continue
			}
			n, nd := p.Parse(buf, &req)
			if n == 0 {
				need = nd
				continue
			}
			got++
			buf = buf[n:]
		}
		if got != 1 || len(req.Value) != len(val) {
			b.Fatalf("parsed %d requests", got)
		}
	}
}
