package protocol

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
)

func describeBin(r *BinRequest) string {
	if r.Close {
		return "CLOSE"
	}
	return fmt.Sprintf("op=%#x key=%q extras=%x value=%q swallow=%d toolarge=%v opaque=%d cas=%d",
		r.Header.Opcode, r.Key, r.Extras, r.Value, r.Swallow, r.TooLarge, r.Header.Opaque, r.Header.Cas)
}

// binStream drives BinParser like a connection (see parseStream).
func binStream(chunks [][]byte, maxItem int) ([]string, int) {
	p := BinParser{MaxItemSize: maxItem}
	var req BinRequest
	return parseStream(chunks, func(buf []byte) (int, int, streamed) {
		n, need := p.Parse(buf, &req)
		if n == 0 {
			return 0, need, streamed{}
		}
		return n, 0, streamed{describeBin(&req), req.Close, req.Swallow}
	})
}

func setExtras(flags, exp uint32) []byte {
	e := binary.BigEndian.AppendUint32(nil, flags)
	return binary.BigEndian.AppendUint32(e, exp)
}

func binCorpus() [][]byte {
	noop := AppendBinRequest(nil, OpNoop, 0, 0, nil, nil, nil)
	var all []byte
	all = AppendBinRequest(all, OpSet, 1, 0, setExtras(5, 0), []byte("k"), []byte("hello"))
	all = AppendBinRequest(all, OpGetK, 2, 0, nil, []byte("k"), nil)
	all = AppendBinRequest(all, OpAppendQ, 3, 9, nil, []byte("k"), []byte("!"))
	all = AppendBinRequest(all, OpIncrement, 4, 0, make([]byte, 20), []byte("n"), nil)
	all = AppendBinRequest(all, OpTouch, 5, 0, []byte{0, 0, 0, 10}, []byte("k"), nil)
	all = append(all, noop...)
	big := AppendBinRequest(nil, OpSetQ, 6, 0, setExtras(0, 0), []byte("big"), make([]byte, 3000))
	big = append(big, noop...)
	unknown := AppendBinRequest(nil, 0x50, 7, 0, nil, []byte("abc"), nil)
	unknown = append(unknown, noop...)
	unknown = append(unknown, noop...)
	sasl := AppendBinRequest(nil, OpSASLAuth, 8, 0, nil, []byte("PLAIN"), []byte("\x00u\x00p"))
	sasl = append(sasl, noop...)
	bad := append(append([]byte(nil), noop...), 0x81)
	bad = append(bad, noop[1:]...)
	stat := AppendBinRequest(nil, OpStat, 9, 0, nil, nil, noop)
	return [][]byte{all, big, unknown, sasl, bad, stat}
}

func TestBinParse(t *testing.T) {
	c := binCorpus()
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"pipeline", c[0], []string{
			`op=0x1 key="k" extras=0000000500000000 value="hello" swallow=0 toolarge=false opaque=1 cas=0`,
			`op=0xc key="k" extras= value="" swallow=0 toolarge=false opaque=2 cas=0`,
			`op=0x19 key="k" extras= value="!" swallow=0 toolarge=false opaque=3 cas=9`,
			`op=0x5 key="n" extras=0000000000000000000000000000000000000000 value="" swallow=0 toolarge=false opaque=4 cas=0`,
			`op=0x1c key="k" extras=0000000a value="" swallow=0 toolarge=false opaque=5 cas=0`,
			`op=0xa key="" extras= value="" swallow=0 toolarge=false opaque=0 cas=0`,
		}},
		{"too large swallowed", c[1], []string{
			`op=0x11 key="big" extras=0000000000000000 value="" swallow=3000 toolarge=true opaque=6 cas=0`,
			`op=0xa key="" extras= value="" swallow=0 toolarge=false opaque=0 cas=0`,
		}},
		// memcached swallows the body length again after the key: the
		// first NOOP loses 3 bytes and the rest parses misaligned.
		{"unknown over-swallows", c[2], []string{
			`op=0x50 key="abc" extras= value="" swallow=3 toolarge=false opaque=7 cas=0`,
			`CLOSE`,
		}},
		{"sasl swallows value", c[3], []string{
			`op=0x21 key="PLAIN" extras= value="" swallow=4 toolarge=false opaque=8 cas=0`,
			`op=0xa key="" extras= value="" swallow=0 toolarge=false opaque=0 cas=0`,
		}},
		{"bad magic", c[4], []string{
			`op=0xa key="" extras= value="" swallow=0 toolarge=false opaque=0 cas=0`,
			`CLOSE`,
		}},
		{"stat body left in stream", c[5], []string{
			`op=0x10 key="" extras= value="" swallow=0 toolarge=false opaque=9 cas=0`,
			`op=0xa key="" extras= value="" swallow=0 toolarge=false opaque=0 cas=0`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := binStream([][]byte{tt.in}, 1024)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestBinSplitEquivalence(t *testing.T) {
	for i, data := range binCorpus() {
		want, _ := binStream([][]byte{data}, 2048)
		if got, _ := binStream(bytewise(data), 2048); !slices.Equal(got, want) {
			t.Fatalf("corpus %d bytewise:\ngot  %q\nwant %q", i, got, want)
		}
		for cut := 1; cut < len(data); cut++ {
			if got, _ := binStream(splitAt(data, cut), 2048); !slices.Equal(got, want) {
				t.Fatalf("corpus %d cut at %d:\ngot  %q\nwant %q", i, cut, got, want)
			}
		}
	}
}

func TestBinHeaderRoundTrip(t *testing.T) {
	h := BinHeader{Magic: MagicResponse, Opcode: OpGetK, KeyLen: 3, ExtLen: 4, DataType: 0,
		Status: StatusKeyExists, BodyLen: 12, Opaque: 0xdeadbeef, Cas: 1 << 40}
	b := AppendBinHeader(nil, h)
	if len(b) != BinHeaderLen {
		t.Fatalf("header length %d", len(b))
	}
	if got := DecodeBinHeader(b); got != h {
		t.Fatalf("round trip: got %+v want %+v", got, h)
	}
}

func TestStatusText(t *testing.T) {
	for status, want := range map[uint16]string{
		StatusKeyNotFound: "Not found", StatusKeyExists: "Data exists for key.",
		StatusTooLarge: "Too large.", StatusInvalidArgs: "Invalid arguments",
		StatusNotStored: "Not stored.", StatusNonNumeric: "Non-numeric server-side value for incr or decr",
		StatusAuthError: "Auth failure.", StatusUnknownCommand: "Unknown command", StatusOutOfMemory: "Out of memory",
	} {
		if got := StatusText(status); got != want {
			t.Errorf("StatusText(%#x) = %q, want %q", status, got, want)
		}
	}
}
