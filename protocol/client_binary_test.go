package protocol

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseBinResponseRoundTrip(t *testing.T) {
	ext := []byte{0, 0, 0, 7}
	pkt := AppendBinResponse(nil, OpGetK, StatusOK, 42, 99, ext, []byte("key"), []byte("value"))
	for cut := 0; cut < len(pkt); cut++ {
		if _, n, err := ParseBinResponse(pkt[:cut], 1<<20); n != 0 || err != nil {
			t.Fatalf("prefix of %d bytes: n=%d err=%v", cut, n, err)
		}
	}
	r, n, err := ParseBinResponse(append(pkt, 0x81), 1<<20)
	if err != nil || n != len(pkt) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if r.Header.Opaque != 42 || r.Header.Cas != 99 || BinFlags(r) != 7 ||
		!bytes.Equal(r.Key, []byte("key")) || !bytes.Equal(r.Value, []byte("value")) {
		t.Errorf("parsed %+v", r)
	}
}

func TestParseBinResponseRejects(t *testing.T) {
	good := AppendBinResponse(nil, OpGet, StatusOK, 1, 0, nil, nil, []byte("v"))
	badMagic := bytes.Clone(good)
	badMagic[0] = MagicRequest
	badLens := bytes.Clone(good)
	badLens[4] = 5 // extras longer than the 1-byte body
	tests := map[string]struct {
		pkt     []byte
		maxBody int
	}{
		"request magic":      {badMagic, 100},
		"extras beyond body": {badLens, 100},
		"body too large":     {good, 0},
	}
	for name, tt := range tests {
		if _, _, err := ParseBinResponse(tt.pkt, tt.maxBody); !errors.Is(err, ErrBadResponse) {
			t.Errorf("%s: err = %v, want ErrBadResponse", name, err)
		}
	}
}

func TestClientRequestEncoders(t *testing.T) {
	store := AppendBinStore(nil, OpSet, 3, 5, 0xdeadbeef, 60, []byte("k"), []byte("vv"))
	h := DecodeBinHeader(store)
	if h.Magic != MagicRequest || h.Opcode != OpSet || h.ExtLen != 8 || h.KeyLen != 1 || h.BodyLen != 11 || h.Cas != 5 || h.Opaque != 3 {
		t.Errorf("store header %+v", h)
	}
	ctr := AppendBinCounter(nil, OpIncrement, 1, []byte("n"), 2, 3, 0xffffffff)
	if h := DecodeBinHeader(ctr); h.ExtLen != 20 || h.BodyLen != 21 {
		t.Errorf("counter header %+v", h)
	}
	touch := AppendBinExptime(nil, OpTouch, 1, []byte("k"), 10)
	if h := DecodeBinHeader(touch); h.ExtLen != 4 || h.BodyLen != 5 {
		t.Errorf("touch header %+v", h)
	}
	r := BinResponse{Value: []byte{0, 0, 0, 0, 0, 0, 1, 2}}
	if v, err := BinCounterValue(r); err != nil || v != 258 {
		t.Errorf("counter value %d %v", v, err)
	}
	if _, err := BinCounterValue(BinResponse{Value: []byte("12")}); !errors.Is(err, ErrBadResponse) {
		t.Errorf("short counter accepted: %v", err)
	}
}

func FuzzParseBinResponse(f *testing.F) {
	f.Add(AppendBinResponse(nil, OpGetK, StatusOK, 1, 2, []byte{0, 0, 0, 1}, []byte("k"), []byte("v")))
	f.Add([]byte{0x81, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := ParseBinResponse(b, 1<<16)
		if err != nil || n == 0 {
			return
		}
		if n > len(b) || len(r.Extras)+len(r.Key)+len(r.Value)+BinHeaderLen != n {
			t.Fatalf("n=%d, parts %d+%d+%d of %d", n, len(r.Extras), len(r.Key), len(r.Value), len(b))
		}
	})
}
