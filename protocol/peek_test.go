package protocol

import (
	"bytes"
	"strings"
	"testing"
)

func binGet(op uint8, key string) []byte {
	return AppendBinRequest(nil, op, 7, 0, nil, []byte(key), nil)
}

func TestPeekKeys(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		limit int
		want  []string
	}{
		{"get", []byte("get foo\r\n"), 16, []string{"foo"}},
		{"gets many", []byte("gets a bb ccc\r\n"), 16, []string{"a", "bb", "ccc"}},
		{"bare newline", []byte("get a  b\n"), 16, []string{"a", "b"}},
		{"gat skips exptime", []byte("gat 100 k1 k2\r\n"), 16, []string{"k1", "k2"}},
		{"gats", []byte("gats 0 k\r\n"), 16, []string{"k"}},
		{"mg takes the key, not the flags", []byte("mg key v f t\r\n"), 16, []string{"key"}},
		{"pipelined gets", []byte("get a\r\nmg b v\r\nget c d\r\n"), 16, []string{"a", "b", "c", "d"}},
		{"stops at a store", []byte("get a\r\nset b 0 0 1\r\nx\r\nget c\r\n"), 16, []string{"a"}},
		{"stops at an incomplete line", []byte("get a\r\nget b"), 16, []string{"a"}},
		{"limit within a line", []byte("get a b c d\r\n"), 2, []string{"a", "b"}},
		{"limit across lines", []byte("get a b\r\nget c d\r\n"), 3, []string{"a", "b", "c"}},
		{"not a retrieval", []byte("set a 0 0 1\r\nx\r\n"), 16, nil},
		{"get without keys", []byte("get\r\nget a\r\n"), 16, nil},
		{"empty", nil, 16, nil},
		{"binary gets", append(append(binGet(OpGet, "x"), binGet(OpGetKQ, "yy")...), binGet(OpGetK, "zzz")...), 16, []string{"x", "yy", "zzz"}},
		{"binary stops at a set", append(binGet(OpGetQ, "x"), AppendBinStore(nil, OpSet, 1, 0, 0, 0, []byte("y"), []byte("v"))...), 16, []string{"x"}},
		{"binary incomplete", binGet(OpGet, "xyz")[:26], 16, nil},
		{"binary key beyond body", func() []byte {
			b := binGet(OpGet, "xyz")
			b[3] = 200 // key length past the body
			return b
		}(), 16, nil},
		{"binary then text", append(binGet(OpGet, "x"), "get y\r\n"...), 16, []string{"x", "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PeekKeys(nil, tc.in, tc.limit)
			var gs []string
			for _, k := range got {
				gs = append(gs, string(k))
			}
			if strings.Join(gs, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("PeekKeys(%q, %d) = %q, want %q", tc.in, tc.limit, gs, tc.want)
			}
		})
	}
}

// PeekKeys never fails, never returns more than limit keys, and every key
// is part of its input.
func FuzzPeekKeys(f *testing.F) {
	f.Add([]byte("get a b\r\nmg c v\r\ngat 1 d\r\n"), 4)
	f.Add(append(binGet(OpGetK, "key"), "gets x\r\n"...), 16)
	f.Add([]byte{MagicRequest, OpGet, 0xff, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 16)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		limit = max(0, min(limit, 64))
		keys := PeekKeys(nil, in, limit)
		if len(keys) > limit {
			t.Fatalf("%d keys, limit %d", len(keys), limit)
		}
		for _, k := range keys {
			if len(k) > 0 && !bytes.Contains(in, k) {
				t.Fatalf("key %q not in the input", k)
			}
		}
	})
}
