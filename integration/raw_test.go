package integration

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"github.com/securecached/securecached/internal/testwire"
)

// TestRawText checks exact bytes for the text and meta protocols, one
// connection, pipelined and not.
func TestRawText(t *testing.T) {
	tests := []struct{ req, want string }{
		{"set k 5 0 2\r\nhi\r\n", "STORED\r\n"},
		{"get k\r\n", "VALUE k 5 2\r\nhi\r\nEND\r\n"},
		{"append k 0 0 1\r\n!\r\nget k nope k\r\n", "STORED\r\nVALUE k 5 3\r\nhi!\r\nVALUE k 5 3\r\nhi!\r\nEND\r\n"},
		{"incr k 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
		{"set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 20\r\n", "STORED\r\n15\r\n0\r\n"},
		{"delete n\r\ndelete n\r\n", "DELETED\r\nNOT_FOUND\r\n"},
		{"touch k 10\r\ntouch n 10\r\n", "TOUCHED\r\nNOT_FOUND\r\n"},
		{"set q 0 0 1 noreply\r\nq\r\nget q\r\n", "VALUE q 0 1\r\nq\r\nEND\r\n"},
		{"bogus\r\n", "ERROR\r\n"},
		{"set k 0 0 1\r\nxx\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n"},
		{"ms m 2 T0 F3\r\nmm\r\nmg m v f s\r\n", "HD\r\nVA 2 f3 s2\r\nmm\r\n"},
		{"mg nope v\r\nmg nope v q\r\nmn\r\n", "EN\r\nMN\r\n"},
		{"md m q\r\nmd m\r\n", "NF\r\n"},
		{"ma cnt N0 J7 v\r\nma cnt D3 v\r\n", "VA 1\r\n7\r\nVA 2\r\n10\r\n"},
		{"flush_all\r\nget k\r\n", "OK\r\nEND\r\n"},
		{"verbosity 1\r\n", "OK\r\n"},
	}
	bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		for _, tt := range tests {
			testwire.Exchange(t, c, r, tt.req, tt.want)
		}
	})
}

// TestRawBinary checks binary responses field by field.
func TestRawBinary(t *testing.T) {
	bothServers(t, nil, func(t *testing.T, s *testenv.Server) {
		c := s.Dial(t)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		do := func(req binRequest) binResponse {
			t.Helper()
			req.Magic, req.BodyLen = binReqMagic, -1
			if _, err := c.Write(req.encode(nil)); err != nil {
				t.Fatal(err)
			}
			res, err := readBinResponse(r)
			if err != nil {
				t.Fatalf("opcode 0x%02x: %v", req.Opcode, err)
			}
			if res.Opcode != req.Opcode || res.Opaque != req.Opaque {
				t.Fatalf("response opcode 0x%02x opaque %d for request 0x%02x opaque %d", res.Opcode, res.Opaque, req.Opcode, req.Opaque)
			}
			return res
		}
		set := do(binRequest{Opcode: binOpcodes["set"], Key: []byte("bk"), Value: []byte("bv"), Extras: []byte{0, 0, 0, 9, 0, 0, 0, 0}, Opaque: 1})
		if set.Status != 0 || set.CAS == 0 {
			t.Fatalf("set: status %d cas %d", set.Status, set.CAS)
		}
		get := do(binRequest{Opcode: binOpcodes["getk"], Key: []byte("bk"), Opaque: 2})
		if get.Status != 0 || string(get.Key) != "bk" || string(get.Value) != "bv" || !bytes.Equal(get.Extras, []byte{0, 0, 0, 9}) || get.CAS != set.CAS {
			t.Fatalf("getk: %+v", get)
		}
		stale := do(binRequest{Opcode: binOpcodes["set"], Key: []byte("bk"), Value: []byte("x"), Extras: make([]byte, 8), CAS: set.CAS + 1000, Opaque: 3})
		if stale.Status != 0x0002 {
			t.Fatalf("set with a wrong CAS: status 0x%04x, want 0x0002", stale.Status)
		}
		miss := do(binRequest{Opcode: binOpcodes["get"], Key: []byte("none"), Opaque: 4})
		if miss.Status != 0x0001 || string(miss.Value) != "Not found" {
			t.Fatalf("get miss: %+v", miss)
		}
		incr := do(binRequest{Opcode: binOpcodes["increment"], Key: []byte("cnt"), Extras: append(make([]byte, 7), 1, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0), Opaque: 5})
		if incr.Status != 0 || !bytes.Equal(incr.Value, []byte{0, 0, 0, 0, 0, 0, 0, 42}) {
			t.Fatalf("increment with initial 42: %+v", incr)
		}
		// A quiet get that misses is silent; the NOOP after it answers.
		c.Write((&binRequest{Magic: binReqMagic, Opcode: binOpcodes["getq"], Key: []byte("none"), Opaque: 6, BodyLen: -1}).encode(nil))
		if noop := do(binRequest{Opcode: binOpcodes["noop"], Opaque: 7}); noop.Status != 0 {
			t.Fatalf("noop: %+v", noop)
		}
	})
}

// TestMetaAppendVivify checks ms in append mode with N<ttl>: current
// protocol.txt says a miss creates the item from the data. Debian's 1.6.18
// predates that and answers NS, so this runs against securecached only.
func TestMetaAppendVivify(t *testing.T) {
	s := testenv.StartSecurecached(t)
	c := s.Dial(t)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	testwire.Exchange(t, c, r, "ms absent 1 MA N30\r\n9\r\n", "HD\r\n")
	testwire.Exchange(t, c, r, "mg absent v\r\n", "VA 1\r\n9\r\n")
	testwire.Exchange(t, c, r, "ms absent 1 MA N30\r\n8\r\nmg absent v\r\n", "HD\r\nVA 2\r\n98\r\n")
}
