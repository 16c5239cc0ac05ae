package client

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/securecached/securecached/ketama"
)

// TestDistributionsMatchKetama checks the client routes exactly as the
// libmemcached-compatible pickers do (New dials lazily: no server needed).
func TestDistributionsMatchKetama(t *testing.T) {
	servers := []ServerConfig{{Addr: "10.0.0.1:11211", Weight: 1}, {Addr: "10.0.0.2:11211", Weight: 1}, {Addr: "10.0.0.3:11311", Weight: 1}}
	var ks []ketama.Server
	for _, s := range servers {
		ks = append(ks, ketama.Server{Addr: s.Addr, Weight: s.Weight})
	}
	ring, _ := ketama.NewRing(ks)
	plain, _ := ketama.NewRingUnweighted(ks, ketama.HashMD5)
	mod, _ := ketama.NewModulo(len(ks), ketama.HashCRC)
	tests := []struct {
		cfg    Config
		picker ketama.Picker
	}{
		{Config{Distribution: Ketama}, ring},
		{Config{Distribution: KetamaUnweighted, Hash: ketama.HashMD5}, plain},
		{Config{Distribution: Modulo, Hash: ketama.HashCRC}, mod},
	}
	for _, tt := range tests {
		tt.cfg.Servers = servers
		c := newClient(t, tt.cfg)
		for i := range 500 {
			k := fmt.Sprintf("key%d", i)
			got, err := c.ServerFor(k)
			if err != nil {
				t.Fatal(err)
			}
			if want := servers[tt.picker.Pick([]byte(k))].Addr; got != want {
				t.Fatalf("distribution %d: key %s on %s, want %s", tt.cfg.Distribution, k, got, want)
			}
		}
	}
}

// TestRehashRoutesAroundDeadServers marks servers dead by hand and checks
// the routes skip them, and that no live server at all is a clear error.
func TestRehashRoutesAroundDeadServers(t *testing.T) {
	c := newClient(t, Config{Rehash: true, Servers: []ServerConfig{{Addr: "a:1"}, {Addr: "b:1"}}})
	c.servers[0].mu.Lock()
	c.servers[0].deadUntil = time.Now().Add(time.Minute)
	c.servers[0].mu.Unlock()
	for i := range 100 {
		if a, _ := c.ServerFor(fmt.Sprint(i)); a != "b:1" {
			t.Fatalf("key %d routed to %s", i, a)
		}
	}
	c.servers[1].mu.Lock()
	c.servers[1].deadUntil = time.Now().Add(time.Minute)
	c.servers[1].mu.Unlock()
	if _, err := c.ServerFor("k"); !errors.Is(err, ErrNoLiveServers) {
		t.Errorf("all dead: %v", err)
	}
}
