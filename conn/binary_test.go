package conn

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/securecached/securecached/protocol"
)

func breq(op uint8, key, extras, value string) string {
	return string(protocol.AppendBinRequest(nil, op, 0, 0, []byte(extras), []byte(key), []byte(value)))
}

func breqCas(op uint8, key, extras, value string, cas uint64) string {
	return string(protocol.AppendBinRequest(nil, op, 0, cas, []byte(extras), []byte(key), []byte(value)))
}

func setExt(flags, exp uint32) string {
	b := binary.BigEndian.AppendUint32(nil, flags)
	return string(binary.BigEndian.AppendUint32(b, exp))
}

func incrExt(delta, initial uint64, exp uint32) string {
	b := binary.BigEndian.AppendUint64(nil, delta)
	b = binary.BigEndian.AppendUint64(b, initial)
	return string(binary.BigEndian.AppendUint32(b, exp))
}

// decodeBin renders binary responses one per line for readable tests.
func decodeBin(out string) string {
	var b strings.Builder
	data := []byte(out)
	for len(data) >= protocol.BinHeaderLen {
		h := protocol.DecodeBinHeader(data)
		end := protocol.BinHeaderLen + int(h.BodyLen)
		if end > len(data) {
			break
		}
		body := data[protocol.BinHeaderLen:end]
		ext := body[:h.ExtLen]
		key := body[h.ExtLen : int(h.ExtLen)+int(h.KeyLen)]
		val := body[int(h.ExtLen)+int(h.KeyLen):]
		fmt.Fprintf(&b, "%#x/%#x cas=%d ext=%x key=%q val=%q\n", h.Opcode, h.Status, h.Cas, ext, key, val)
		data = data[end:]
	}
	if len(data) > 0 {
		fmt.Fprintf(&b, "trailing %q\n", data)
	}
	return b.String()
}

var noop = breq(protocol.OpNoop, "", "", "")

// binTranscripts: want is the decoded form of the replies.
func binTranscripts() []transcript {
	return []transcript{
		{name: "set get getk", in: breq(protocol.OpSet, "k", setExt(5, 0), "hello") +
			breq(protocol.OpGet, "k", "", "") + breq(protocol.OpGetK, "k", "", "") + noop,
			want: "0x1/0x0 cas=1 ext= key=\"\" val=\"\"\n0x0/0x0 cas=1 ext=00000005 key=\"\" val=\"hello\"\n" +
				"0xc/0x0 cas=1 ext=00000005 key=\"k\" val=\"hello\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "misses", in: breq(protocol.OpGet, "no", "", "") + breq(protocol.OpGetK, "no", "", "") +
			breq(protocol.OpGetQ, "no", "", "") + breq(protocol.OpGetKQ, "no", "", "") + noop,
			want: "0x0/0x1 cas=0 ext= key=\"\" val=\"Not found\"\n0xc/0x1 cas=0 ext= key=\"no\" val=\"\"\n" +
				"0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "quiet set then getq", in: breq(protocol.OpSetQ, "k", setExt(0, 0), "v") +
			breq(protocol.OpGetQ, "k", "", "") + noop,
			want: "0x9/0x0 cas=1 ext=00000000 key=\"\" val=\"v\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "too large quiet", in: breq(protocol.OpSetQ, "k", setExt(0, 0), strings.Repeat("x", 2000000)) + noop,
			want: "0x11/0x3 cas=0 ext= key=\"\" val=\"Too large.\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "too large set drops old value", in: breq(protocol.OpSetQ, "k", setExt(0, 0), "v") +
			breq(protocol.OpSet, "k", setExt(0, 0), strings.Repeat("x", 2000000)) + breq(protocol.OpGet, "k", "", "") + noop,
			want: "0x1/0x3 cas=0 ext= key=\"\" val=\"Too large.\"\n0x0/0x1 cas=0 ext= key=\"\" val=\"Not found\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "add replace append", in: breq(protocol.OpAdd, "k", setExt(0, 0), "a") + breq(protocol.OpAdd, "k", setExt(0, 0), "b") +
			breq(protocol.OpReplace, "no", setExt(0, 0), "x") + breq(protocol.OpAppend, "no", "", "x") +
			breq(protocol.OpAppendQ, "k", "", "c") + breq(protocol.OpPrependQ, "k", "", "z") + breq(protocol.OpGetK, "k", "", "") + noop,
			want: "" /* filled below: depends on CAS */},
		{name: "delete", in: breq(protocol.OpSetQ, "k", setExt(0, 0), "v") + breqCas(protocol.OpDelete, "k", "", "", 999999) +
			breq(protocol.OpDelete, "k", "", "") + breq(protocol.OpDelete, "k", "", "") + breq(protocol.OpDeleteQ, "k", "", "") + noop,
			want: "0x4/0x2 cas=0 ext= key=\"\" val=\"Data exists for key.\"\n0x4/0x0 cas=0 ext= key=\"\" val=\"\"\n" +
				"0x4/0x1 cas=0 ext= key=\"\" val=\"Not found\"\n0x14/0x1 cas=0 ext= key=\"\" val=\"Not found\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "incr", in: breq(protocol.OpIncrement, "n", incrExt(5, 10, 0), "") +
			breq(protocol.OpIncrement, "n", incrExt(5, 10, 0), "") + breq(protocol.OpDecrement, "n", incrExt(100, 0, 0), "") +
			breq(protocol.OpIncrement, "m", incrExt(1, 0, 0xffffffff), "") + breq(protocol.OpSetQ, "t", setExt(0, 0), "x") +
			breq(protocol.OpIncrement, "t", incrExt(1, 0, 0), "") + breq(protocol.OpIncrementQ, "n", incrExt(1, 0, 0), "") + noop,
			want: "0x5/0x0 cas=1 ext= key=\"\" val=\"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\n\"\n" +
				"0x5/0x0 cas=2 ext= key=\"\" val=\"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0f\"\n" +
				"0x6/0x0 cas=3 ext= key=\"\" val=\"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"\n" +
				"0x5/0x1 cas=0 ext= key=\"\" val=\"Not found\"\n" +
				"0x5/0x6 cas=0 ext= key=\"\" val=\"Non-numeric server-side value for incr or decr\"\n" +
				"0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "touch gat", in: breq(protocol.OpSet, "k", setExt(7, 0), "v") +
			breq(protocol.OpTouch, "k", "\x00\x00\x00\x64", "") + breq(protocol.OpGAT, "k", "\x00\x00\x00\x64", "") +
			breq(protocol.OpGATK, "no", "\x00\x00\x00\x64", "") + breq(protocol.OpGATQ, "no", "\x00\x00\x00\x64", "") + noop,
			want: "0x1/0x0 cas=1 ext= key=\"\" val=\"\"\n0x1c/0x0 cas=1 ext=00000007 key=\"\" val=\"\"\n" +
				"0x1d/0x0 cas=1 ext=00000007 key=\"\" val=\"v\"\n0x23/0x1 cas=0 ext= key=\"no\" val=\"\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "flush version", in: breq(protocol.OpFlush, "", "\x00\x00\x00\x00", "") + breq(protocol.OpFlushQ, "", "", "") +
			breq(protocol.OpVersion, "", "", "") + noop,
			want: "0x8/0x0 cas=0 ext= key=\"\" val=\"\"\n0xb/0x0 cas=0 ext= key=\"\" val=\"1.6.18\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "sasl unknown", in: breq(protocol.OpSASLList, "", "", "") + breq(protocol.OpSASLAuth, "PLAIN", "", "\x00u\x00p") +
			breq(0x50, "", "", "zzzz") + noop,
			want: "0x20/0x81 cas=0 ext= key=\"\" val=\"Unknown command\"\n0x21/0x81 cas=0 ext= key=\"\" val=\"Unknown command\"\n" +
				"0x50/0x81 cas=0 ext= key=\"\" val=\"Unknown command\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "unknown over-swallows", in: breq(0x50, "abc", "", "") + noop,
			want: "0x50/0x81 cas=0 ext= key=\"\" val=\"Unknown command\"\n"},
		{name: "stat not found", in: breq(protocol.OpStat, "nosuch", "", "") + breq(protocol.OpStat, "reset", "", "") + noop,
			want: "0x10/0x1 cas=0 ext= key=\"\" val=\"Not found\"\n0x10/0x0 cas=0 ext= key=\"\" val=\"\"\n0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n"},
		{name: "quit", in: breq(protocol.OpQuit, "", "", "") + noop, want: "0x7/0x0 cas=0 ext= key=\"\" val=\"\"\n", closed: true},
		{name: "quitq", in: breq(protocol.OpQuitQ, "", "", "") + noop, want: "", closed: true},
		{name: "bad extlen closes", in: breq(protocol.OpSet, "k", "1234", "hello") + noop,
			want: "0x1/0x4 cas=0 ext= key=\"\" val=\"Invalid arguments\"\n", closed: true},
		{name: "noop with body closes", in: breq(protocol.OpNoop, "", "", "x") + noop,
			want: "0xa/0x4 cas=0 ext= key=\"\" val=\"Invalid arguments\"\n", closed: true},
		{name: "key too long closes", in: breq(protocol.OpGet, strings.Repeat("k", 251), "", "") + noop,
			want: "0x0/0x4 cas=0 ext= key=\"\" val=\"Invalid arguments\"\n", closed: true},
		{name: "keylen over bodylen closes", in: func() string {
			b := []byte(breq(protocol.OpGet, "k", "", ""))
			binary.BigEndian.PutUint32(b[8:], 0)
			return string(b[:24]) + noop
		}(), want: "0x0/0x81 cas=0 ext= key=\"\" val=\"Unknown command\"\n", closed: true},
		{name: "bad magic closes", in: noop + "\x81" + noop[1:] + noop, want: "0xa/0x0 cas=0 ext= key=\"\" val=\"\"\n", closed: true},
	}
}

func TestBinaryCommands(t *testing.T) {
	for _, tt := range binTranscripts() {
		if tt.want == "" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			splits := []int{0, 1, 5}
			if len(tt.in) > 1<<16 {
				splits = []int{0, 4093}
			}
			for _, split := range splits {
				r := newRig(t, Settings{})
				got := decodeBin(r.run(tt.in, split))
				if got != tt.want {
					t.Fatalf("split %d:\ngot  %s\nwant %s", split, got, tt.want)
				}
				if r.conn.Closed() != tt.closed {
					t.Fatalf("split %d: closed = %v, want %v", split, r.conn.Closed(), tt.closed)
				}
			}
		})
	}
}

// TestBinaryMatchesMemcached compares our replies with memcached's byte for
// byte, each transcript on a fresh memcached.
func TestBinaryMatchesMemcached(t *testing.T) {
	if testing.Short() {
		t.Skip("starts memcached")
	}
	tests := binTranscripts()
	refs := refRunTranscripts(t, tests)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Settings{})
			got := r.run(tt.in, 0)
			if got != refs[i].out || r.conn.Closed() != refs[i].closed {
				t.Fatalf("ours:\n%s closed=%v\nmemcached:\n%s closed=%v", decodeBin(got), r.conn.Closed(), decodeBin(refs[i].out), refs[i].closed)
			}
		})
	}
}
