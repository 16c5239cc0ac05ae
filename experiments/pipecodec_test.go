package experiments

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/securecached/securecached/protocol"
	"github.com/securecached/securecached/ycsb"
)

// codecCalls puts a read, an insert and an update in flight.
func codecCalls(t *testing.T) (*pipeCodec, []*ycsb.Call, []byte) {
	t.Helper()
	w := workloadB(t, 10, 10)
	c := newPipeCodec(w, "tbl", 4)
	calls := []*ycsb.Call{
		{Op: ycsb.OpRead, Key: []byte("user1")},
		{Op: ycsb.OpInsert, Key: []byte("user2"), Value: []byte("v2")},
		{Op: ycsb.OpUpdate, Key: []byte("user3"), Value: []byte("v3")},
	}
	var out []byte
	for _, call := range calls {
		out = c.encode(out, call)
	}
	return c, calls, out
}

// TestPipeCodecEncode: the requests are memcachedb's (get, add, replace
// of TABLE-KEY, flags 0, no expiry) with consecutive opaques, as the
// server's parser reads them.
func TestPipeCodecEncode(t *testing.T) {
	c, _, out := codecCalls(t)
	want := []struct {
		op         uint8
		key, value string
	}{{protocol.OpGet, "tbl-user1", ""}, {protocol.OpAdd, "tbl-user2", "v2"}, {protocol.OpReplace, "tbl-user3", "v3"}}
	for i, w := range want {
		h := protocol.DecodeBinHeader(out)
		body := out[protocol.BinHeaderLen : protocol.BinHeaderLen+int(h.BodyLen)]
		e, k := int(h.ExtLen), int(h.KeyLen)
		if h.Magic != protocol.MagicRequest || h.Opcode != w.op || h.Opaque != uint32(i) ||
			string(body[e:e+k]) != w.key || string(body[e+k:]) != w.value {
			t.Fatalf("request %d: %+v %q", i, h, body)
		}
		if w.op != protocol.OpGet && (e != 8 || string(body[:8]) != "\x00\x00\x00\x00\x00\x00\x00\x00") {
			t.Fatalf("request %d: extras %q", i, body[:e])
		}
		out = out[protocol.BinHeaderLen+int(h.BodyLen):]
	}
	if len(out) != 0 || c.outstanding() != 3 {
		t.Fatalf("%d bytes left, %d outstanding", len(out), c.outstanding())
	}
}

var record = []byte(`{"field0":"` + string(make1K()) + `"}`)

func make1K() []byte {
	b := make([]byte, 1024)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

var flags0 = []byte{0, 0, 0, 0}

// TestPipeCodecDecode: responses end the calls in order with memcachedb's
// statuses; a hit must carry a record; partial input waits.
func TestPipeCodecDecode(t *testing.T) {
	cases := []struct {
		name   string
		status [3]uint16
		value  []byte // the read's value
		extras []byte
		want   [3]ycsb.Status
	}{
		{"all ok", [3]uint16{0, 0, 0}, record, flags0, [3]ycsb.Status{ycsb.StatusOK, ycsb.StatusOK, ycsb.StatusOK}},
		{"misses", [3]uint16{protocol.StatusKeyNotFound, protocol.StatusKeyExists, protocol.StatusKeyNotFound}, nil, nil,
			[3]ycsb.Status{ycsb.StatusNotFound, ycsb.StatusError, ycsb.StatusNotFound}},
		{"not stored", [3]uint16{protocol.StatusOutOfMemory, protocol.StatusNotStored, protocol.StatusNotStored}, nil, nil,
			[3]ycsb.Status{ycsb.StatusError, ycsb.StatusError, ycsb.StatusNotFound}},
		{"not a record", [3]uint16{0, 0, 0}, []byte("garbage"), flags0, [3]ycsb.Status{ycsb.StatusError, ycsb.StatusOK, ycsb.StatusOK}},
		{"no flags", [3]uint16{0, 0, 0}, record, nil, [3]ycsb.Status{ycsb.StatusError, ycsb.StatusOK, ycsb.StatusOK}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, calls, _ := codecCalls(t)
			ops := []uint8{protocol.OpGet, protocol.OpAdd, protocol.OpReplace}
			var in []byte
			first := 0
			for i, op := range ops {
				var ext, val []byte
				if i == 0 {
					ext, val = tc.extras, tc.value
				}
				in = protocol.AppendBinResponse(in, op, tc.status[i], uint32(i), 0, ext, nil, val)
				if i == 0 {
					first = len(in)
				}
			}
			// Nothing decodes before a whole response is in.
			for _, cut := range []int{0, protocol.BinHeaderLen - 1, first - 1} {
				if _, _, n, err := c.decode(in[:cut]); n != 0 || err != nil {
					t.Fatalf("%d bytes of %d: n=%d err=%v", cut, first, n, err)
				}
			}
			for i := range 3 {
				call, st, n, err := c.decode(in)
				if err != nil || n == 0 || call != calls[i] || st != tc.want[i] {
					t.Fatalf("response %d: call %v status %s n %d err %v", i, call, st, n, err)
				}
				in = in[n:]
			}
			if c.outstanding() != 0 {
				t.Fatalf("%d outstanding", c.outstanding())
			}
		})
	}
}

// TestPipeCodecBadStream: a response that answers nothing sent, out of
// order or with the wrong opcode, or with broken framing is a stream error.
func TestPipeCodecBadStream(t *testing.T) {
	bad := map[string]func(c *pipeCodec) []byte{
		"wrong opaque": func(*pipeCodec) []byte {
			return protocol.AppendBinResponse(nil, protocol.OpGet, 0, 1, 0, flags0, nil, record)
		},
		"wrong opcode": func(*pipeCodec) []byte {
			return protocol.AppendBinResponse(nil, protocol.OpSet, 0, 0, 0, nil, nil, nil)
		},
		"request magic": func(*pipeCodec) []byte {
			return protocol.AppendBinRequest(nil, protocol.OpGet, 0, 0, nil, nil, nil)
		},
		"huge body": func(*pipeCodec) []byte {
			return protocol.AppendBinResponse(nil, protocol.OpGet, 0, 0, 0, flags0, nil, make([]byte, 64<<10))
		},
		"nothing in flight": func(c *pipeCodec) []byte {
			for range 3 {
				c.drop()
			}
			return protocol.AppendBinResponse(nil, protocol.OpGet, 0, 0, 0, flags0, nil, record)
		},
	}
	for name, mk := range bad {
		t.Run(name, func(t *testing.T) {
			c, _, _ := codecCalls(t)
			if _, _, _, err := c.decode(mk(c)); !errors.Is(err, protocol.ErrBadResponse) {
				t.Fatalf("got %v, want ErrBadResponse", err)
			}
		})
	}
}

// TestPipeCodecRing: the ring of calls in flight wraps around its window
// and matches opaques across the wrap.
func TestPipeCodecRing(t *testing.T) {
	c := newPipeCodec(workloadB(t, 10, 10), "t", 3)
	var sent []*ycsb.Call
	for i := range 20 {
		call := &ycsb.Call{Op: ycsb.OpUpdate, Key: []byte("k"), Value: []byte("v")}
		c.encode(nil, call)
		sent = append(sent, call)
		if c.outstanding() == 3 || i == 19 {
			for c.outstanding() > 0 {
				resp := protocol.AppendBinResponse(nil, protocol.OpReplace, 0, uint32(len(sent)-c.outstanding()), 0, nil, nil, nil)
				got, st, _, err := c.decode(resp)
				if err != nil || got != sent[len(sent)-c.outstanding()-1] || st != ycsb.StatusOK {
					t.Fatalf("call %d: %v %s %v", len(sent), got, st, err)
				}
			}
		}
	}
}

// BenchmarkPipelinedClientOp is the pipelined client's own work per
// YCSB-B operation, without Diggi: start a transaction (key choice, a
// record for updates), encode its request, decode and check its response
// (a 1 KB record for reads) and record its measurement. One iteration is
// one window of 64 operations; the responses are built here too, as the
// server would (ns/op includes that).
func BenchmarkPipelinedClientOp(b *testing.B) {
	w := workloadB(b, 10000, 1<<30)
	plan, err := ycsb.NewPlan(w, ycsb.PhaseRun, 1, ycsb.PlanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	const window = 64
	q, err := plan.Pipeline(0, window)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	c := newPipeCodec(w, "usertable", window)
	rec := []byte(`{"field0":"` + string(bytes.Repeat([]byte("x"), 1024)) + `"}`)
	var out, in []byte
	var opaque uint32
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		now := time.Now()
		out, in = out[:0], in[:0]
		for {
			call, _ := q.Next(now)
			if call == nil {
				break
			}
			out = c.encode(out, call)
			if call.Op == ycsb.OpRead {
				in = protocol.AppendBinResponse(in, protocol.OpGet, 0, opaque, 0, flags0, nil, rec)
			} else {
				in = protocol.AppendBinResponse(in, protocol.OpReplace, 0, opaque, 0, nil, nil, nil)
			}
			opaque++
		}
		for rest := in; len(rest) > 0; {
			call, st, n, err := c.decode(rest)
			if err != nil || st != ycsb.StatusOK {
				b.Fatal(st, err)
			}
			rest = rest[n:]
			q.Done(call, now, st)
		}
	}
}
