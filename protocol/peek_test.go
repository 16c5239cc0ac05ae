package protocol

import (
	"bytes"
	"slices"
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
		{"binary empty key", binGet(OpGet, ""), 16, nil},
		{"limit 0", []byte("get a\r\n"), 0, nil},
		{"negative limit", []byte("get a\r\n"), -1, nil},
		{"gat without keys", []byte("gat 10\r\n"), 16, nil},
		{"mg without a key", []byte("mg\r\n"), 16, nil},
		{"multi-get longer than a command line", []byte("get " + strings.Repeat("k ", 1500) + "last\r\nget z\r\n"), 16, slices.Repeat([]string{"k"}, 16)},
		{"multi-get keys past the limit, then the next line", []byte("get " + strings.Repeat("k ", 1500) + "\r\nget z\r\n"), 1501, append(slices.Repeat([]string{"k"}, 1500), "z")},
		{"other commands only up to a command line", []byte("set " + strings.Repeat("k", 3000) + "\r\n"), 16, nil},
		{"key too long is left out", []byte("get " + strings.Repeat("x", KeyMaxLength+1) + " ok\r\n"), 16, []string{"ok"}},
		{"binary key too long", binGet(OpGet, strings.Repeat("x", KeyMaxLength+1)), 16, nil},
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
	// Huge key, extras and body lengths in a whole header.
	f.Add([]byte{MagicRequest, OpGet, 0xff, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'k'}, 16)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		limit = min(limit, 64)
		keys := PeekKeys(nil, in, limit)
		if len(keys) > max(0, limit) {
			t.Fatalf("%d keys, limit %d", len(keys), limit)
		}
		for _, k := range keys {
			if len(k) == 0 || len(k) > KeyMaxLength || cap(k) != len(k) || !bytes.Contains(in, k) {
				t.Fatalf("key %q (cap %d) is not a key of the input", k, cap(k))
			}
		}
	})
}
