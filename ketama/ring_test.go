package ketama

import (
	"errors"
	"fmt"
	"testing"
)

func TestNewRingErrors(t *testing.T) {
	tests := []struct {
		name    string
		servers []Server
		want    error // nil: any error will do
	}{
		{"empty", nil, ErrNoServers},
		{"zero weight", []Server{{Addr: "a:1", Weight: 0}}, nil},
		{"no port", []Server{{Addr: "a", Weight: 1}}, nil},
		{"bad port", []Server{{Addr: "a:99999", Weight: 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRing(tt.servers)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewRingUnweightedErrors(t *testing.T) {
	if _, err := NewRingUnweighted(nil, HashMD5); !errors.Is(err, ErrNoServers) {
		t.Errorf("empty: %v", err)
	}
	if _, err := NewRingUnweighted([]Server{{"a:1", 2}}, HashMD5); err == nil {
		t.Error("weight 2 accepted")
	}
	if _, err := NewRingUnweighted([]Server{{"a:1", 1}}, Hash(-1)); err == nil {
		t.Error("bad hash accepted")
	}
}

func TestNewModuloErrors(t *testing.T) {
	if _, err := NewModulo(0, HashDefault); !errors.Is(err, ErrNoServers) {
		t.Errorf("n=0: err = %v", err)
	}
	if _, err := NewModulo(2, Hash(99)); err == nil {
		t.Error("unknown hash accepted")
	}
	if _, err := ParseHash("sha1"); err == nil {
		t.Error("ParseHash(sha1) accepted")
	}
}

func TestServerPoints(t *testing.T) {
	tests := []struct {
		weight uint32
		total  uint64
		live   int
		want   int
	}{
		{1, 1, 1, 160},
		{1, 3, 3, 160},
		{1, 11, 4, 56},  // 1/11*40*4 = 14.5 -> 14*4
		{5, 11, 4, 288}, // 5/11*40*4 = 72.7 -> 72*4
		{1, 1000, 2, 0}, // a tiny share rounds to no points, as in C
	}
	for _, tt := range tests {
		if got := serverPoints(tt.weight, tt.total, tt.live); got != tt.want {
			t.Errorf("serverPoints(%d, %d, %d) = %d, want %d", tt.weight, tt.total, tt.live, got, tt.want)
		}
	}
}

// TestRingShareFollowsWeight checks a server's share of keys tracks its weight.
func TestRingShareFollowsWeight(t *testing.T) {
	servers := []Server{{"a:1", 1}, {"b:1", 2}, {"c:1", 4}}
	r, err := NewRing(servers)
	if err != nil {
		t.Fatal(err)
	}
	const n = 70000
	counts := make([]int, len(servers))
	for i := range n {
		counts[r.Pick(fmt.Appendf(nil, "key%d", i))]++
	}
	for i, s := range servers {
		want := float64(n) * float64(s.Weight) / 7
		if got := float64(counts[i]); got < 0.75*want || got > 1.25*want {
			t.Errorf("server %s: %d keys, want about %.0f", s.Addr, counts[i], want)
		}
	}
}

// TestRingRemoveMovesOnlyThatServersKeys is consistent hashing's promise:
// dropping a server (with equal weights the others keep their points) moves
// only the keys that lived on it.
func TestRingRemoveMovesOnlyThatServersKeys(t *testing.T) {
	all := []Server{{"a:1", 1}, {"b:1", 1}, {"c:1", 1}, {"d:1", 1}}
	full, err := NewRing(all)
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild without "c", mapping indexes back to the full list.
	rest := []Server{all[0], all[1], all[3]}
	back := []int{0, 1, 3}
	part, err := NewRing(rest)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i := range 20000 {
		k := fmt.Appendf(nil, "k%d", i)
		before, after := full.Pick(k), back[part.Pick(k)]
		if before != 2 && before != after {
			moved++
		}
		if after == 2 {
			t.Fatalf("key %s still on removed server", k)
		}
	}
	// With 4 equal servers, each server's points are the same in both rings
	// (4*40*1/4*... = 160 versus 3*40/3 = 160), so nothing else may move.
	if moved != 0 {
		t.Errorf("%d keys moved between surviving servers", moved)
	}
}

func TestSinglePickers(t *testing.T) {
	r, err := NewRing([]Server{{"only:11211", 3}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModulo(1, HashMD5)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"", "a", "zzz"} {
		if r.Pick([]byte(k)) != 0 || m.Pick([]byte(k)) != 0 {
			t.Errorf("key %q not on server 0", k)
		}
	}
}

func BenchmarkRingPick(b *testing.B) {
	var servers []Server
	for i := range 8 {
		servers = append(servers, Server{Addr: fmt.Sprintf("10.0.0.%d:11211", i), Weight: uint32(i%3 + 1)})
	}
	r, err := NewRing(servers)
	if err != nil {
		b.Fatal(err)
	}
	key := []byte("user6284781860667377211")
	for b.Loop() {
		r.Pick(key)
	}
}
