package protocol

import (
	"slices"
	"testing"
)

// The fuzz properties for every parser: it never panics, never asks to
// buffer more than a request may hold, and parses input split at any point
// exactly as the unsplit input.

const fuzzMaxItem = 4096

func FuzzTextParser(f *testing.F) {
	for _, s := range textCorpus {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Add([]byte("ms k 2 b\r\nhi\r\n"), uint16(3))
	f.Add([]byte("mg aGVsbG8= b k v c f s t l h O99 q\r\n"), uint16(7))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		if len(data) > 1<<16 {
			return
		}
		checkTextBounds(t, data)
		checkSplitsAgree(t, textStream, data, int(cut))
	})
}

// checkSplitsAgree checks that data parses the same whole, cut in two at
// cut, and (when short) byte by byte: framing must not depend on reads.
func checkSplitsAgree(t *testing.T, stream func([][]byte, int) ([]string, int), data []byte, cut int) {
	t.Helper()
	want, _ := stream([][]byte{data}, fuzzMaxItem)
	if got, _ := stream(splitAt(data, cut), fuzzMaxItem); !slices.Equal(got, want) {
		t.Fatalf("cut %d:\ngot  %q\nwant %q", cut, got, want)
	}
	if len(data) <= 512 {
		if got, _ := stream(bytewise(data), fuzzMaxItem); !slices.Equal(got, want) {
			t.Fatalf("bytewise:\ngot  %q\nwant %q", got, want)
		}
	}
}

// checkTextBounds parses data request by request and checks that consumed
// and needed lengths stay within what memcached would hold for a request.
func checkTextBounds(t *testing.T, data []byte) {
	var p TextParser
	p.MaxItemSize = fuzzMaxItem
	var req Request
	for len(data) > 0 {
		n, need := p.Parse(data, &req)
		if n == 0 {
			if need <= len(data) || need > MaxGetLineLength+fuzzMaxItem+2 {
				t.Fatalf("need %d with %d buffered", need, len(data))
			}
			return
		}
		if n > len(data) {
			t.Fatalf("consumed %d of %d", n, len(data))
		}
		if req.Close {
			return
		}
		if req.Swallow > 0 {
			if req.Swallow >= len(data)-n {
				return
			}
			n += req.Swallow
		}
		data = data[n:]
	}
}

func FuzzBinParser(f *testing.F) {
	for _, b := range binCorpus() {
		f.Add(b, uint16(len(b)/3))
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		if len(data) > 1<<16 {
			return
		}
		var p BinParser
		p.MaxItemSize = fuzzMaxItem
		var req BinRequest
		if n, need := p.Parse(data, &req); n == 0 {
			if need <= len(data) || need > BinHeaderLen+255+65535+fuzzMaxItem {
				t.Fatalf("need %d with %d buffered", need, len(data))
			}
		} else if n > len(data) {
			t.Fatalf("consumed %d of %d", n, len(data))
		}
		checkSplitsAgree(t, binStream, data, int(cut))
	})
}

// FuzzMetaParser builds meta command lines from fuzzed parts, so the fuzzer
// spends its time in flag parsing rather than in finding a command name.
func FuzzMetaParser(f *testing.F) {
	f.Add(byte('g'), []byte("k"), []byte("s v f t c k O123 q"), []byte(""))
	f.Add(byte('s'), []byte("aGk="), []byte("2 b k O9 T10 F3 C5 I MS"), []byte("hi"))
	f.Add(byte('a'), []byte("n"), []byte("N0 J10 D5 MD v t c"), []byte(""))
	f.Add(byte('d'), []byte("k"), []byte("I T30 q k"), []byte(""))
	f.Add(byte('e'), []byte("aGk="), []byte("b"), []byte(""))
	f.Fuzz(func(t *testing.T, kind byte, key, flags, value []byte) {
		line := append([]byte{'m', kind, ' '}, key...)
		line = append(line, ' ')
		line = append(line, flags...)
		line = append(line, "\r\n"...)
		line = append(line, value...)
		line = append(line, "\r\nmn\r\n"...)
		if len(line) > 1<<14 {
			return
		}
		checkTextBounds(t, line)
		want, _ := textStream([][]byte{line}, fuzzMaxItem)
		if got, _ := textStream(bytewise(line), fuzzMaxItem); !slices.Equal(got, want) {
			t.Fatalf("bytewise:\ngot  %q\nwant %q", got, want)
		}
		var p TextParser
		var req Request
		if n, _ := p.Parse(line, &req); n > 0 && req.Err == "" && req.Cmd == CmdMetaSet && !req.ValueOK && len(req.Value) > 0 {
			// A data block either ends in CRLF or is reported as bad.
			if b := line[n-2 : n]; string(b) == "\r\n" {
				t.Fatalf("block ending in CRLF reported bad: %q", line)
			}
		}
	})
}
