package protocol

import (
	"strings"
	"testing"
)

func BenchmarkTextParseGet(b *testing.B) {
	in := []byte("get some:key:12345\r\n")
	var p TextParser
	var req Request
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n, _ := p.Parse(in, &req); n != len(in) {
			b.Fatal("short parse")
		}
	}
}

func BenchmarkTextParseSet1KB(b *testing.B) {
	in := []byte("set some:key:12345 0 0 1024\r\n" + strings.Repeat("v", 1024) + "\r\n")
	var p TextParser
	var req Request
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n, _ := p.Parse(in, &req); n != len(in) {
			b.Fatal("short parse")
		}
	}
}

func BenchmarkTextParseMetaGet(b *testing.B) {
	in := []byte("mg some:key:12345 v c f t k O123\r\n")
	var p TextParser
	var req Request
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if n, _ := p.Parse(in, &req); n != len(in) {
			b.Fatal("short parse")
		}
	}
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

// BenchmarkTextParse1MBValueIn4KBReads feeds a 1 MB value in 4 KB reads the
// way a connection does, honouring need; it guards against quadratic
// rescanning.
func BenchmarkTextParse1MBValueIn4KBReads(b *testing.B) {
	val := strings.Repeat("v", 1<<20-100)
	in := []byte("set k 0 0 " + itoa(len(val)) + "\r\n" + val + "\r\n")
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		var chunks [][]byte
		for i := 0; i < len(in); i += 4096 {
			chunks = append(chunks, in[i:min(i+4096, len(in))])
		}
		if got, _ := textStream(chunks, 2<<20); len(got) != 1 {
			b.Fatalf("got %d requests", len(got))
		}
	}
}

func itoa(n int) string {
	return string(AppendUintLine(nil, uint64(n))[:len(AppendUintLine(nil, uint64(n)))-2])
}
