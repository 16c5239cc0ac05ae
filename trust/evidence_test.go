package trust

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestEvidenceRoundTrip(t *testing.T) {
	w := newTestWorld(t)
	e := w.launch(t, testSpec("cache", "cfg"))
	ev, err := e.Attest(BindKey(PurposeChannel, []byte("key"), [32]byte{7}))
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Simulated || ev.Backend != BackendSim || ev.Version != EvidenceVersion {
		t.Fatalf("sim evidence must say it is simulated: %+v", ev)
	}
	raw, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalEvidence(raw)
	if err != nil {
		t.Fatal(err)
	}
	raw2, _ := got.Marshal()
	if !bytes.Equal(raw, raw2) || !got.IssuedAt.Equal(ev.IssuedAt) || got.Measurement != ev.Measurement {
		t.Fatal("round trip changed the evidence")
	}
}

func TestUnmarshalEvidenceRejects(t *testing.T) {
	w := newTestWorld(t)
	ev, _ := w.launch(t, testSpec("cache", "")).Attest(ReportData{})
	raw, _ := ev.Marshal()
	badVersion := bytes.Clone(raw)
	badVersion[5] = 9
	badFlags := bytes.Clone(raw)
	badFlags[4+2+1+len(BackendSim)] = 0x80
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrEvidenceMalformed},
		{"bad magic", append([]byte("XXXX"), raw[4:]...), ErrEvidenceMalformed},
		{"version", badVersion, ErrEvidenceVersion},
		{"flags", badFlags, ErrEvidenceMalformed},
		{"truncated", raw[:len(raw)-1], ErrEvidenceMalformed},
		{"trailing", append(bytes.Clone(raw), 0), ErrEvidenceMalformed},
		{"huge", make([]byte, maxEvidenceSize+1), ErrEvidenceMalformed},
	}
	for _, c := range cases {
		if _, err := UnmarshalEvidence(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzUnmarshalEvidence(f *testing.F) {
	ev := &Evidence{Version: EvidenceVersion, Backend: "sim", Simulated: true, IssuedAt: time.Unix(1, 2),
		PlatformCert: []byte{1, 2, 3}, Signature: []byte{4, 5}}
	raw, _ := ev.Marshal()
	f.Add(raw)
	f.Add([]byte("DGEV"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := UnmarshalEvidence(b)
		if err != nil {
			return
		}
		out, err := ev.Marshal()
		if err != nil {
			t.Fatalf("decoded evidence does not re-encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, out)
		}
	})
}
