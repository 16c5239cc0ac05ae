package client

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/securecached/securecached/protocol"
)

func read(t *testing.T, cd codec, req *request, wire string) ([]protocol.BinResponse, error) {
	t.Helper()
	return cd.readCall(bufio.NewReaderSize(strings.NewReader(wire), 4096), req, 1<<20)
}

func TestTextReplies(t *testing.T) {
	tests := []struct {
		name   string
		req    *request
		wire   string
		status uint16
		value  string
		flags  uint32
		cas    uint64
	}{
		{"hit", &request{op: protocol.OpGetK, key: "k"}, "VALUE k 5 3 77\r\nabc\r\nEND\r\n", protocol.StatusOK, "abc", 5, 77},
		{"miss", &request{op: protocol.OpGetK, key: "k"}, "END\r\n", protocol.StatusKeyNotFound, "", 0, 0},
		{"stored", &request{op: protocol.OpSet}, "STORED\r\n", protocol.StatusOK, "", 0, 0},
		{"exists", &request{op: protocol.OpSet, cas: 1}, "EXISTS\r\n", protocol.StatusKeyExists, "", 0, 0},
		{"not stored", &request{op: protocol.OpAdd}, "NOT_STORED\r\n", protocol.StatusNotStored, "", 0, 0},
		{"deleted", &request{op: protocol.OpDelete}, "DELETED\r\n", protocol.StatusOK, "", 0, 0},
		{"incr", &request{op: protocol.OpIncrement}, "42\r\n", protocol.StatusOK, "\x00\x00\x00\x00\x00\x00\x00\x2a", 0, 0},
		{"non-numeric", &request{op: protocol.OpIncrement}, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", protocol.StatusNonNumeric, "CLIENT_ERROR cannot increment or decrement non-numeric value", 0, 0},
		{"too large", &request{op: protocol.OpSet}, "SERVER_ERROR object too large for cache\r\n", protocol.StatusTooLarge, "SERVER_ERROR object too large for cache", 0, 0},
		{"version", &request{op: protocol.OpVersion}, "VERSION 1.6.18\r\n", protocol.StatusOK, "1.6.18", 0, 0},
		{"unknown", &request{op: protocol.OpTouch}, "ERROR\r\n", protocol.StatusUnknownCommand, "ERROR", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := read(t, textCodec{}, tt.req, tt.wire)
			if err != nil || len(rs) != 1 {
				t.Fatalf("readCall: %d responses, %v", len(rs), err)
			}
			r := rs[0]
			if r.Header.Status != tt.status || string(r.Value) != tt.value || protocol.BinFlags(r) != tt.flags || r.Header.Cas != tt.cas {
				t.Errorf("got status %#x value %q flags %d cas %d", r.Header.Status, r.Value, protocol.BinFlags(r), r.Header.Cas)
			}
		})
	}
}

func TestTextMultiAndStats(t *testing.T) {
	rs, err := read(t, textCodec{}, &request{op: protocol.OpGetKQ, keys: []string{"a", "b", "c"}},
		"VALUE a 0 1 1\r\nx\r\nVALUE c 0 2 2\r\nyz\r\nEND\r\n")
	if err != nil || len(rs) != 3 || string(rs[1].Key) != "c" || rs[2].Header.Opcode != protocol.OpNoop {
		t.Fatalf("multi: %+v %v", rs, err)
	}
	rs, err = read(t, textCodec{}, &request{op: protocol.OpStat}, "STAT pid 12\r\nSTAT version 1.6\r\nEND\r\n")
	if err != nil || len(rs) != 3 || string(rs[0].Key) != "pid" || string(rs[1].Value) != "1.6" || len(rs[2].Key) != 0 {
		t.Fatalf("stats: %+v %v", rs, err)
	}
}

func TestMetaReplies(t *testing.T) {
	rs, err := read(t, metaCodec{}, &request{op: protocol.OpGetK, key: "k"}, "VA 2 f9 c33\r\nhi\r\n")
	if err != nil || len(rs) != 1 || string(rs[0].Value) != "hi" || protocol.BinFlags(rs[0]) != 9 || rs[0].Header.Cas != 33 || string(rs[0].Key) != "k" {
		t.Fatalf("mg hit: %+v %v", rs, err)
	}
	rs, err = read(t, metaCodec{}, &request{op: protocol.OpGetK, key: "k"}, "EN\r\n")
	if err != nil || rs[0].Header.Status != protocol.StatusKeyNotFound {
		t.Fatalf("mg miss: %+v %v", rs, err)
	}
	rs, err = read(t, metaCodec{}, &request{op: protocol.OpSet}, "HD c5\r\n")
	if err != nil || rs[0].Header.Status != protocol.StatusOK || rs[0].Header.Cas != 5 {
		t.Fatalf("ms: %+v %v", rs, err)
	}
	rs, err = read(t, metaCodec{}, &request{op: protocol.OpIncrement}, "VA 2\r\n11\r\n")
	if v, verr := protocol.BinCounterValue(rs[0]); err != nil || verr != nil || v != 11 {
		t.Fatalf("ma: %v %v %v", v, err, verr)
	}
	rs, err = read(t, metaCodec{}, &request{op: protocol.OpGetKQ, keys: []string{"a", "b"}}, "VA 1 f0 c1 kb\r\nz\r\nMN\r\n")
	if err != nil || len(rs) != 2 || string(rs[0].Key) != "b" || rs[1].Header.Opcode != protocol.OpNoop {
		t.Fatalf("multi: %+v %v", rs, err)
	}
}

func TestMalformedReplies(t *testing.T) {
	tests := []struct {
		cd   codec
		req  *request
		wire string
	}{
		{textCodec{}, &request{op: protocol.OpGetK}, "VALUE k x 3\r\nabc\r\nEND\r\n"},
		{textCodec{}, &request{op: protocol.OpGetK}, "VALUE k 0 3\r\nabcd\r\nEND\r\n"},
		{textCodec{}, &request{op: protocol.OpGetK}, "VALUE k 0 99999999999\r\n"},
		{textCodec{}, &request{op: protocol.OpSet}, "MAYBE\r\n"},
		{textCodec{}, &request{op: protocol.OpIncrement}, "-3\r\n"},
		{textCodec{}, &request{op: protocol.OpGetK}, strings.Repeat("x", 5000) + "\r\n"},
		{metaCodec{}, &request{op: protocol.OpGetK}, "VA two\r\n"},
		{metaCodec{}, &request{op: protocol.OpGetK}, "VA 1 fX\r\na\r\n"},
		{metaCodec{}, &request{op: protocol.OpSet}, "ZZ\r\n"},
	}
	for _, tt := range tests {
		if _, err := read(t, tt.cd, tt.req, tt.wire); !errors.Is(err, errBadReply) {
			t.Errorf("%T %q: err = %v, want errBadReply", tt.cd, tt.wire[:min(len(tt.wire), 30)], err)
		}
	}
}

// FuzzASCIIReplies feeds arbitrary bytes to the text and meta reply parsers
// for every request kind: they must fail cleanly, never panic, and never
// return more value bytes than they were given.
func FuzzASCIIReplies(f *testing.F) {
	f.Add("VALUE k 5 3 77\r\nabc\r\nEND\r\n")
	f.Add("VA 2 f9 c33 kk\r\nhi\r\nMN\r\n")
	f.Add("STAT a b\r\nEND\r\n")
	ops := []uint8{protocol.OpGetK, protocol.OpGATK, protocol.OpGetKQ, protocol.OpSet, protocol.OpDelete,
		protocol.OpIncrement, protocol.OpTouch, protocol.OpStat, protocol.OpVersion, protocol.OpFlush}
	f.Fuzz(func(t *testing.T, wire string) {
		for _, cd := range []codec{textCodec{}, metaCodec{}} {
			for _, op := range ops {
				rs, err := cd.readCall(bufio.NewReaderSize(strings.NewReader(wire), 256), &request{op: op, key: "k"}, 1<<16)
				if err != nil {
					continue
				}
				total := 0
				for _, r := range rs {
					total += len(r.Value) + len(r.Key)
				}
				if total > len(wire)+8*len(rs) { // counters decode to 8 bytes
					t.Fatalf("%d bytes out of %d in", total, len(wire))
				}
			}
		}
	})
}

func TestRequestEncodings(t *testing.T) {
	tests := []struct {
		cd   codec
		req  *request
		want string
	}{
		{textCodec{}, &request{op: protocol.OpSet, key: "k", value: []byte("v"), flags: 1, exptime: 2}, "set k 1 2 1\r\nv\r\n"},
		{textCodec{}, &request{op: protocol.OpSet, key: "k", value: []byte("v"), cas: 9}, "cas k 0 0 1 9\r\nv\r\n"},
		{textCodec{}, &request{op: protocol.OpGetKQ, keys: []string{"a", "b"}}, "gets a b\r\n"},
		{textCodec{}, &request{op: protocol.OpGATK, key: "k", exptime: 5}, "gats 5 k\r\n"},
		{textCodec{}, &request{op: protocol.OpDecrement, key: "k", delta: 3}, "decr k 3\r\n"},
		{textCodec{}, &request{op: protocol.OpFlush, exptime: 10}, "flush_all 10\r\n"},
		{metaCodec{}, &request{op: protocol.OpAdd, key: "k", value: []byte("vv"), flags: 4, exptime: 6}, "ms k 2 F4 T6 ME c\r\nvv\r\n"},
		{metaCodec{}, &request{op: protocol.OpGATK, key: "k", exptime: 7}, "mg k v f c T7\r\n"},
		{metaCodec{}, &request{op: protocol.OpIncrement, key: "k", delta: 2}, "ma k v MI D2\r\n"},
		{metaCodec{}, &request{op: protocol.OpGetKQ, keys: []string{"a"}}, "mg a v f c k q\r\nmn\r\n"},
	}
	for _, tt := range tests {
		got, err := tt.cd.appendRequest(nil, tt.req, 0)
		if err != nil || !bytes.Equal(got, []byte(tt.want)) {
			t.Errorf("%T: got %q (%v), want %q", tt.cd, got, err, tt.want)
		}
	}
}
