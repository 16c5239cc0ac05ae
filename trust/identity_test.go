package trust

import (
	"strings"
	"testing"
)

func TestMeasureSeparatesInputs(t *testing.T) {
	base := CodeIdentity{BinaryHash: [32]byte{9}, Kind: "cache"}
	cases := []struct {
		name   string
		id     CodeIdentity
		config string
	}{
		{"other binary", CodeIdentity{BinaryHash: [32]byte{8}, Kind: "cache"}, "m=64"},
		{"other kind", CodeIdentity{BinaryHash: [32]byte{9}, Kind: "gateway"}, "m=64"},
		{"other config", base, "m=65"},
		// Length prefixes: moving bytes between kind and config changes the hash.
		{"kind/config boundary", CodeIdentity{BinaryHash: [32]byte{9}, Kind: "cachem"}, "=64"},
	}
	want := Measure(base, []byte("m=64"))
	if want != Measure(base, []byte("m=64")) {
		t.Fatal("measurement is not deterministic")
	}
	for _, c := range cases {
		if Measure(c.id, []byte(c.config)) == want {
			t.Errorf("%s: same measurement as base", c.name)
		}
	}
}

func TestParseMeasurementRoundTrip(t *testing.T) {
	m := Measure(CodeIdentity{Kind: "x"}, nil)
	got, err := ParseMeasurement(m.String())
	if err != nil || got != m {
		t.Fatalf("ParseMeasurement(%s) = %s, %v", m, got, err)
	}
	for _, bad := range []string{"", "zz", strings.Repeat("g", 64), m.String()[:62]} {
		if _, err := ParseMeasurement(bad); err == nil {
			t.Errorf("ParseMeasurement(%q) succeeded", bad)
		}
	}
	s := SignerFromKey([]byte("k"))
	if got, err := ParseSigner(s.String()); err != nil || got != s {
		t.Fatalf("ParseSigner = %s, %v", got, err)
	}
}

func TestExecutableHashStable(t *testing.T) {
	a, err := ExecutableHash()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ExecutableHash()
	if a != b || a == ([32]byte{}) {
		t.Fatalf("executable hash %x / %x", a, b)
	}
}

func TestChannelProtection(t *testing.T) {
	for _, c := range []struct {
		p    Pair
		want Protection
	}{
		{Pair{LocalTrusted: true, PeerTrusted: true, SameInstance: true, AllowPlaintext: true}, Encrypted}, // cannot be configured off
		{Pair{LocalTrusted: true, AllowPlaintext: true, SameInstance: true}, Encrypted},
		{Pair{PeerTrusted: true, AllowPlaintext: true, SameInstance: true}, Encrypted},
		{Pair{SameInstance: true}, Encrypted},
		{Pair{AllowPlaintext: true, SameInstance: true}, Plaintext},
		// One confidential VM: two trusted agents share protected memory.
		{Pair{LocalTrusted: true, PeerTrusted: true, SameInstance: true, Domain: DomainInstance}, InDomain},
		// ... but not with an untrusted agent, and never across instances.
		{Pair{LocalTrusted: true, SameInstance: true, Domain: DomainInstance, AllowPlaintext: true}, Encrypted},
		{Pair{LocalTrusted: true, PeerTrusted: true, Domain: DomainInstance, AllowPlaintext: true}, Encrypted},
		{Pair{AllowPlaintext: true, Domain: DomainInstance}, Plaintext},
	} {
		if got := ChannelProtection(c.p); got != c.want {
			t.Errorf("ChannelProtection(%+v) = %v, want %v", c.p, got, c.want)
		}
	}
	for b, want := range map[string]Domain{BackendSim: DomainAgent, BackendNone: DomainAgent, BackendSNP: DomainInstance, BackendTDX: DomainInstance} {
		if got := DomainOf(b); got != want {
			t.Errorf("DomainOf(%q) = %v, want %v", b, got, want)
		}
	}
}
