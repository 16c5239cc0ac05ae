package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
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

// TestPoolMixesNetworks: one ring over two memcacheds, each reached
// through its own network's dialer ("tcp", and "other", a stand-in for a
// Diggi socket layer that here dials TCP too). Keys land on the server
// the ring names, through its network's dialer; a server whose network
// has no dialer fails alone, with ErrUnknownNetwork.
func TestPoolMixesNetworks(t *testing.T) {
	tcp, other := testenv.StartMemcached(t), testenv.StartMemcached(t)
	var dialed sync.Map // "network addr" -> true
	var nd net.Dialer
	counting := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed.Store(network+" "+addr, true)
		return nd.DialContext(ctx, "tcp", addr)
	}
	servers := []ServerConfig{{Addr: tcp.Addr, Network: "tcp"}, {Addr: other.Addr, Network: "other"}, {Addr: "agent:1", Network: "nowhere"}}
	c := newClient(t, Config{Servers: servers, FailureLimit: 1000,
		Dial: DialNetworks(map[string]DialFunc{"tcp": counting, "other": counting})})
	on := map[string]int{}
	for i := range 100 {
		k := fmt.Sprintf("key%d", i)
		where, err := c.ServerFor(k)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Set(ctx(t), &Item{Key: k, Value: []byte(k)})
		if where == "agent:1" {
			if !errors.Is(err, ErrUnknownNetwork) {
				t.Fatalf("key %s on the server with no dialer: %v", k, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("key %s on %s: %v", k, where, err)
		}
		on[where]++
		// Only the server the ring names has it.
		for _, s := range servers[:2] {
			one := newClient(t, Config{Servers: []ServerConfig{{Addr: s.Addr}}})
			_, err := one.Get(ctx(t), k)
			if (s.Addr == where) != (err == nil) {
				t.Fatalf("key %s routed to %s; on %s: %v", k, where, s.Addr, err)
			}
		}
	}
	if on[tcp.Addr] == 0 || on[other.Addr] == 0 {
		t.Errorf("keys per server: %v; want both used", on)
	}
	var dials []string
	dialed.Range(func(k, _ any) bool { dials = append(dials, k.(string)); return true })
	slices.Sort(dials)
	want := []string{"other " + other.Addr, "tcp " + tcp.Addr}
	slices.Sort(want)
	if !slices.Equal(dials, want) {
		t.Errorf("dials %q, want %q", dials, want)
	}
}
