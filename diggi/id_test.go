package diggi

import (
	"bytes"
	"testing"
)

func TestAgentIDTextRoundTrip(t *testing.T) {
	for _, id := range []AgentID{MakeAgentID(1, 2), MakeAgentID(0xffffffff, 0xffffffff), MakeAgentID(InstanceIDFromName("node1"), 0)} {
		back, err := ParseAgentID(id.String())
		if err != nil || back != id {
			t.Errorf("%s: parsed back as %s, %v", id, back, err)
		}
	}
	id := MakeAgentID(7, 9)
	if id.Instance() != 7 || id.Local() != 9 || id.String() != "7/9" {
		t.Errorf("MakeAgentID(7, 9) = %s (%d, %d)", id, id.Instance(), id.Local())
	}
	for _, bad := range []string{"", "7", "7/", "/9", "x/9", "7/y", "4294967296/1", "1/4294967296"} {
		if _, err := ParseAgentID(bad); err == nil {
			t.Errorf("ParseAgentID(%q) succeeded", bad)
		}
	}
	if InstanceIDFromName("a") == InstanceIDFromName("b") || InstanceIDFromName("") == 0 {
		t.Error("instance ids from names collide or are zero")
	}
}

func FuzzParseAgentID(f *testing.F) {
	f.Add("1/2")
	f.Add("4294967295/0")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseAgentID(s)
		if err != nil {
			return
		}
		if again, err := ParseAgentID(id.String()); err != nil || again != id {
			t.Fatalf("%q -> %s does not round-trip", s, id)
		}
	})
}

func TestHeaderWireRoundTrip(t *testing.T) {
	h := Header{Src: MakeAgentID(1, 2), Dst: MakeAgentID(3, 4), Type: TypeNetIO, Flags: FlagSealed, Len: 99, Session: 1 << 40, Seq: 12345}
	b := h.AppendBinary(nil)
	if len(b) != HeaderSize {
		t.Fatalf("header is %d bytes, want %d", len(b), HeaderSize)
	}
	got, err := ParseHeader(b)
	if err != nil || got != h {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := ParseHeader(b[:HeaderSize-1]); err == nil {
		t.Error("short header parsed")
	}
}

func FuzzParseHeader(f *testing.F) {
	h := Header{Src: 1, Dst: 2, Type: TypeRegular, Len: 5}
	f.Add(h.AppendBinary(nil))
	f.Add(bytes.Repeat([]byte{0xff}, HeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		again, err := ParseHeader(h.AppendBinary(nil))
		if err != nil || again != h {
			t.Fatalf("%+v does not round-trip: %v", h, err)
		}
	})
}

func TestMessagePoolOwnership(t *testing.T) {
	for _, n := range []int{0, 1, 256, 257, 4096, 65536, 65537} {
		m := NewMessage(n)
		if len(m.Payload()) != n {
			t.Fatalf("NewMessage(%d) payload %d", n, len(m.Payload()))
		}
		c := m.Clone()
		if c == m || int(c.Len) != n {
			t.Fatalf("clone of %d", n)
		}
		Release(m)
		Release(c)
	}
	m := NewMessage(3)
	m.SetPayload([]byte("hello"))
	if string(m.Payload()) != "hello" {
		t.Errorf("SetPayload: %q", m.Payload())
	}
	Release(m)
}
