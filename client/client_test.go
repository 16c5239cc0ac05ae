package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/testenv"
	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines and removes the securecached
// binary the tests may have built.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		testenv.Cleanup()
		os.Exit(code)
	}))
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestEveryCallAgainstMemcached runs the whole API against Debian's
// memcached, in each protocol.
func TestEveryCallAgainstMemcached(t *testing.T) {
	srv := testenv.StartMemcached(t)
	for _, p := range []Protocol{Binary, Text, Meta} {
		t.Run(p.String(), func(t *testing.T) {
			c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, Protocol: p})
			if err := c.FlushAll(ctx(t), 0); err != nil {
				t.Fatal(err)
			}
			everyCall(t, c, srv.Addr)
		})
	}
}

func everyCall(t *testing.T, c *Client, addr string) {
	x := ctx(t)

	if _, err := c.Get(x, "nope"); !errors.Is(err, ErrCacheMiss) {
		t.Fatalf("Get missing: %v", err)
	}
	it := &Item{Key: "k", Value: []byte("hello"), Flags: 42}
	if err := c.Set(x, it); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(x, "k")
	if err != nil || string(got.Value) != "hello" || got.Flags != 42 || got.CAS == 0 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if err := c.Add(x, &Item{Key: "k", Value: []byte("x")}); !errors.Is(err, ErrNotStored) {
		t.Errorf("Add existing: %v", err)
	}
	if err := c.Add(x, &Item{Key: "new", Value: []byte("1")}); err != nil {
		t.Errorf("Add new: %v", err)
	}
	if err := c.Replace(x, &Item{Key: "absent", Value: []byte("x")}); !errors.Is(err, ErrNotStored) {
		t.Errorf("Replace missing: %v", err)
	}
	if err := c.Replace(x, &Item{Key: "k", Value: []byte("world")}); err != nil {
		t.Errorf("Replace: %v", err)
	}
	if err := c.Append(x, &Item{Key: "k", Value: []byte("!")}); err != nil {
		t.Errorf("Append: %v", err)
	}
	if err := c.Prepend(x, &Item{Key: "k", Value: []byte("<")}); err != nil {
		t.Errorf("Prepend: %v", err)
	}
	if err := c.Append(x, &Item{Key: "absent", Value: []byte("!")}); !errors.Is(err, ErrNotStored) {
		t.Errorf("Append missing: %v", err)
	}
	if got, _ := c.Get(x, "k"); got == nil || string(got.Value) != "<world!" {
		t.Errorf("after append/prepend: %+v", got)
	}

	// CAS: a stale CAS conflicts, the current one wins.
	cur, err := c.Get(x, "k")
	if err != nil {
		t.Fatal(err)
	}
	stale := &Item{Key: "k", Value: []byte("stale"), CAS: cur.CAS + 1000}
	if err := c.CompareAndSwap(x, stale); !errors.Is(err, ErrCASConflict) {
		t.Errorf("stale CAS: %v", err)
	}
	cur.Value = []byte("swapped")
	if err := c.CompareAndSwap(x, cur); err != nil {
		t.Errorf("CAS: %v", err)
	}
	if err := c.CompareAndSwap(x, &Item{Key: "absent", CAS: 5}); !errors.Is(err, ErrCacheMiss) {
		t.Errorf("CAS missing: %v", err)
	}

	// Counters.
	if err := c.Set(x, &Item{Key: "n", Value: []byte("10")}); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Increment(x, "n", 5); err != nil || v != 15 {
		t.Errorf("Increment = %d, %v", v, err)
	}
	if v, err := c.Decrement(x, "n", 20); err != nil || v != 0 {
		t.Errorf("Decrement = %d, %v (want 0: memcached stops at zero)", v, err)
	}
	if _, err := c.Increment(x, "absent", 1); !errors.Is(err, ErrCacheMiss) {
		t.Errorf("Increment missing: %v", err)
	}
	if _, err := c.Increment(x, "k", 1); !errors.Is(err, ErrNonNumeric) {
		t.Errorf("Increment text: %v", err)
	}

	// Touch and get-and-touch.
	if err := c.Touch(x, "k", 100); err != nil {
		t.Errorf("Touch: %v", err)
	}
	if err := c.Touch(x, "absent", 100); !errors.Is(err, ErrCacheMiss) {
		t.Errorf("Touch missing: %v", err)
	}
	if got, err := c.GetAndTouch(x, "k", 100); err != nil || string(got.Value) != "swapped" {
		t.Errorf("GetAndTouch = %+v, %v", got, err)
	}
	if _, err := c.GetAndTouch(x, "absent", 1); !errors.Is(err, ErrCacheMiss) {
		t.Errorf("GetAndTouch missing: %v", err)
	}

	// Multi-get, delete.
	m, err := c.GetMulti(x, []string{"k", "new", "absent", "n"})
	if err != nil || len(m) != 3 || string(m["new"].Value) != "1" || m["absent"] != nil {
		t.Errorf("GetMulti = %v, %v", m, err)
	}
	var many []string
	for i := range 350 { // several chunks per server
		k := fmt.Sprintf("many%d", i)
		many = append(many, k)
		if i%2 == 0 {
			if err := c.Set(x, &Item{Key: k, Value: []byte(k)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if m, err := c.GetMulti(x, many); err != nil || len(m) != 175 || string(m["many348"].Value) != "many348" {
		t.Errorf("GetMulti of 350 keys: %d items, %v", len(m), err)
	}
	if err := c.Set(x, &Item{Key: "gone", Value: []byte("x"), Expiration: -1}); err != nil {
		t.Errorf("Set expired: %v", err)
	}
	if _, err := c.Get(x, "gone"); !errors.Is(err, ErrCacheMiss) {
		t.Errorf("Get of an item stored already expired: %v", err)
	}
	if err := c.Delete(x, "k"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if err := c.Delete(x, "k"); !errors.Is(err, ErrCacheMiss) {
		t.Errorf("Delete twice: %v", err)
	}

	// Server-wide calls.
	v, err := c.Version(x)
	if err != nil || !strings.HasPrefix(v[addr], "1.") {
		t.Errorf("Version = %v, %v", v, err)
	}
	st, err := c.Stats(x, "")
	if err != nil || st[addr]["pid"] == "" || st[addr]["cmd_get"] == "" {
		t.Errorf("Stats = %v, %v", st, err)
	}
	if st, err := c.Stats(x, "settings"); err != nil || st[addr]["maxconns"] == "" {
		t.Errorf("Stats settings = %v, %v", st, err)
	}
	if err := c.FlushAll(x, 0); err != nil {
		t.Errorf("FlushAll: %v", err)
	}
	if _, err := c.Get(x, "new"); !errors.Is(err, ErrCacheMiss) {
		t.Errorf("Get after flush: %v", err)
	}

	// Bad keys and reserved flags fail before reaching the wire.
	if err := c.Set(x, &Item{Key: strings.Repeat("a", 251)}); !errors.Is(err, ErrMalformedKey) {
		t.Errorf("long key: %v", err)
	}
	if err := c.Set(x, &Item{Key: "f", Flags: FlagCompressed}); !errors.Is(err, ErrReservedFlag) {
		t.Errorf("reserved flag: %v", err)
	}
	if c.cfg.Protocol != Binary {
		if err := c.Set(x, &Item{Key: "has space"}); !errors.Is(err, ErrMalformedKey) {
			t.Errorf("key with a space: %v", err)
		}
	}
}

// TestAsyncAndPipelining sends many requests on one connection before
// collecting any response (the thesis's Listing 4.5, many times over).
func TestAsyncAndPipelining(t *testing.T) {
	srv := testenv.StartMemcached(t)
	for _, p := range []Protocol{Binary, Text, Meta} {
		t.Run(p.String(), func(t *testing.T) {
			pipelined(t, newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, MaxConnsPerServer: 1, Protocol: p}))
		})
	}
}

func pipelined(t *testing.T, c *Client) {
	x := ctx(t)
	const n = 500
	var sets []*Pending
	for i := range n {
		p, err := c.SetAsync(x, &Item{Key: fmt.Sprintf("p%d", i), Value: fmt.Appendf(nil, "v%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, p)
	}
	for i, p := range sets {
		if _, err := p.Wait(x); err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
	}
	var gets []*Pending
	for i := range n {
		p, err := c.GetAsync(x, fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		gets = append(gets, p)
	}
	// Collect in reverse: responses are matched by opaque, not by order.
	for i := n - 1; i >= 0; i-- {
		it, err := gets[i].Wait(x)
		if err != nil || string(it.Value) != fmt.Sprintf("v%d", i) {
			t.Fatalf("get %d = %+v, %v", i, it, err)
		}
	}
	del, err := c.DeleteAsync(x, "p0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.Wait(x); err != nil {
		t.Fatal(err)
	}
	if len(c.servers[0].conns) != 1 {
		t.Errorf("%d connections, want 1", len(c.servers[0].conns))
	}
}

// TestAsyncFormOfEveryOperation pipelines one of each operation on one
// connection, all sent before any is collected, in all three protocols:
// each Wait returns what the synchronous form would.
func TestAsyncFormOfEveryOperation(t *testing.T) {
	srv := testenv.StartMemcached(t)
	for _, proto := range []Protocol{Binary, Text, Meta} {
		t.Run(proto.String(), func(t *testing.T) {
			c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, MaxConnsPerServer: 1, Protocol: proto})
			x := ctx(t)
			k := func(s string) string { return proto.String() + "-" + s }
			for _, it := range []*Item{{Key: k("n"), Value: []byte("10")}, {Key: k("s"), Value: []byte("mid")}, {Key: k("cas"), Value: []byte("a")}} {
				if err := c.Set(x, it); err != nil {
					t.Fatal(err)
				}
			}
			stale, err := c.Get(x, k("cas"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Set(x, &Item{Key: k("cas"), Value: []byte("b")}); err != nil {
				t.Fatal(err)
			}
			type step struct {
				name    string
				send    func() (*Pending, error)
				wantErr error
				value   string // the item Wait returns, if any
			}
			steps := []step{
				{"add present", func() (*Pending, error) { return c.AddAsync(x, &Item{Key: k("n"), Value: []byte("x")}) }, ErrNotStored, ""},
				{"add absent", func() (*Pending, error) { return c.AddAsync(x, &Item{Key: k("new"), Value: []byte("x")}) }, nil, ""},
				{"replace absent", func() (*Pending, error) { return c.ReplaceAsync(x, &Item{Key: k("none"), Value: []byte("x")}) }, ErrNotStored, ""},
				{"append", func() (*Pending, error) { return c.AppendAsync(x, &Item{Key: k("s"), Value: []byte(">")}) }, nil, ""},
				{"prepend", func() (*Pending, error) { return c.PrependAsync(x, &Item{Key: k("s"), Value: []byte("<")}) }, nil, ""},
				{"cas stale", func() (*Pending, error) { return c.CompareAndSwapAsync(x, stale) }, ErrCASConflict, ""},
				{"incr", func() (*Pending, error) { return c.IncrementAsync(x, k("n"), 5) }, nil, "15"},
				{"decr below 0", func() (*Pending, error) { return c.DecrementAsync(x, k("n"), 100) }, nil, "0"},
				{"incr absent", func() (*Pending, error) { return c.IncrementAsync(x, k("none"), 1) }, ErrCacheMiss, ""},
				{"touch", func() (*Pending, error) { return c.TouchAsync(x, k("s"), 3600) }, nil, ""},
				{"touch absent", func() (*Pending, error) { return c.TouchAsync(x, k("none"), 3600) }, ErrCacheMiss, ""},
				{"gat", func() (*Pending, error) { return c.GetAndTouchAsync(x, k("s"), 3600) }, nil, "<mid>"},
				{"gat absent", func() (*Pending, error) { return c.GetAndTouchAsync(x, k("none"), 3600) }, ErrCacheMiss, ""},
			}
			pending := make([]*Pending, len(steps))
			for i, st := range steps {
				if pending[i], err = st.send(); err != nil {
					t.Fatalf("%s: send: %v", st.name, err)
				}
			}
			for i := len(steps) - 1; i >= 0; i-- {
				st := steps[i]
				it, err := pending[i].Wait(x)
				if !errors.Is(err, st.wantErr) || (err == nil) != (st.wantErr == nil) {
					t.Errorf("%s: Wait error %v, want %v", st.name, err, st.wantErr)
					continue
				}
				if got := ""; st.value != "" {
					if it != nil {
						got = string(it.Value)
					}
					if got != st.value {
						t.Errorf("%s: Wait item %q, want %q", st.name, got, st.value)
					}
				}
			}
			if len(c.servers[0].conns) != 1 {
				t.Errorf("%d connections, want 1", len(c.servers[0].conns))
			}
			if _, err := c.CompareAndSwapAsync(x, &Item{Key: k("s")}); err == nil {
				t.Error("CompareAndSwapAsync without a CAS value was sent")
			}
			if v, err := c.Increment(x, k("n"), 7); err != nil || v != 7 {
				t.Errorf("Increment after the pipeline = %d, %v; want 7", v, err)
			}
		})
	}
}

// TestManyServersAndDeadServer spreads keys over three memcacheds, stops
// one mid-test and checks the failure is reported, then that rehashing
// moves its keys to the survivors.
func TestManyServersAndDeadServer(t *testing.T) {
	srvs := []*testenv.Server{testenv.StartMemcached(t), testenv.StartMemcached(t), testenv.StartMemcached(t)}
	var cfgs []ServerConfig
	for i, s := range srvs {
		cfgs = append(cfgs, ServerConfig{Addr: s.Addr, Weight: uint32(i + 1)})
	}
	c := newClient(t, Config{Servers: cfgs})
	x := ctx(t)
	keys := map[string][]string{}
	var all []string
	for i := range 300 {
		k := fmt.Sprintf("key%d", i)
		if err := c.Set(x, &Item{Key: k, Value: []byte(k)}); err != nil {
			t.Fatal(err)
		}
		addr, _ := c.ServerFor(k)
		keys[addr] = append(keys[addr], k)
		all = append(all, k)
	}
	// Weights 1:2:3 give the third server the largest share.
	if len(keys) != 3 || len(keys[srvs[0].Addr]) >= len(keys[srvs[2].Addr]) {
		t.Fatalf("keys per server: %d, %d, %d", len(keys[srvs[0].Addr]), len(keys[srvs[1].Addr]), len(keys[srvs[2].Addr]))
	}
	// Each server holds exactly the keys the ring gave it.
	for _, s := range srvs {
		one := newClient(t, Config{Servers: []ServerConfig{{Addr: s.Addr}}})
		m, err := one.GetMulti(x, all)
		if err != nil || len(m) != len(keys[s.Addr]) {
			t.Fatalf("server %s holds %d keys, want %d (%v)", s.Addr, len(m), len(keys[s.Addr]), err)
		}
	}
	m, err := c.GetMulti(x, all)
	if err != nil || len(m) != 300 {
		t.Fatalf("GetMulti: %d items, %v", len(m), err)
	}

	// Kill the third server and watch both modes.
	if err := srvs[2].Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srvs[2].Wait(t, 5*time.Second)

	strict := newClient(t, Config{Servers: cfgs, FailureLimit: 1, RetryBackoff: time.Minute})
	var deadKey string
	for i := range 300 {
		k := fmt.Sprintf("key%d", i)
		if a, _ := strict.ServerFor(k); a == srvs[2].Addr {
			deadKey = k
			break
		}
	}
	if _, err := strict.Get(x, deadKey); err == nil {
		t.Fatal("Get from a dead server succeeded")
	}
	if _, err := strict.Get(x, deadKey); !errors.Is(err, ErrServerDead) {
		t.Errorf("second Get: %v, want ErrServerDead", err)
	}

	rehash := newClient(t, Config{Servers: cfgs, Rehash: true, FailureLimit: 1, RetryBackoff: time.Minute})
	if _, err := rehash.Get(x, deadKey); err == nil {
		t.Fatal("first Get from a dead server succeeded")
	}
	// Now marked dead: the key goes to a survivor.
	if addr, _ := rehash.ServerFor(deadKey); addr == srvs[2].Addr {
		t.Fatalf("key still routed to the dead server")
	}
	if err := rehash.Set(x, &Item{Key: deadKey, Value: []byte("moved")}); err != nil {
		t.Fatalf("Set after rehash: %v", err)
	}
	if it, err := rehash.Get(x, deadKey); err != nil || string(it.Value) != "moved" {
		t.Errorf("Get after rehash = %+v, %v", it, err)
	}
}

func TestCompression(t *testing.T) {
	srv := testenv.StartMemcached(t)
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, CompressThreshold: 100})
	plain := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}})
	x := ctx(t)
	big := bytes.Repeat([]byte("compress me "), 1000)
	if err := c.Set(x, &Item{Key: "big", Value: big, Flags: 3}); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(x, &Item{Key: "small", Value: []byte("tiny")}); err != nil {
		t.Fatal(err)
	}
	it, err := c.Get(x, "big")
	if err != nil || !bytes.Equal(it.Value, big) || it.Flags != 3 {
		t.Fatalf("Get big: flags %v, %d bytes, %v", it.Flags, len(it.Value), err)
	}
	// What the server holds is smaller and marked; any client decompresses.
	st, err := plain.Stats(x, "")
	if err != nil {
		t.Fatal(err)
	}
	if b := st[srv.Addr]["bytes"]; b == "" || len(b) > 4 {
		t.Errorf("server holds %s bytes for a %d-byte value plus a tiny one", b, len(big))
	}
	if it, err := plain.Get(x, "big"); err != nil || !bytes.Equal(it.Value, big) {
		t.Errorf("plain client Get: %v", err)
	}
	if it, err := c.Get(x, "small"); err != nil || string(it.Value) != "tiny" || it.Flags != 0 {
		t.Errorf("small: %+v %v", it, err)
	}
}

func TestDecompressLimit(t *testing.T) {
	bomb, flags, err := compress(make([]byte, 1<<20), 0, 1)
	if err != nil || flags != FlagCompressed {
		t.Fatal(err)
	}
	if _, _, err := decompress(bomb, flags, 1000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("decompress past limit: %v", err)
	}
	if _, _, err := decompress([]byte("not zlib"), FlagCompressed, 1000); err == nil {
		t.Error("garbage decompressed")
	}
}

func TestSensitiveRouting(t *testing.T) {
	trusted, untrusted := testenv.StartMemcached(t), testenv.StartMemcached(t)
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: untrusted.Addr}, {Addr: trusted.Addr, Trusted: true}}})
	x := ctx(t)
	for i := range 100 {
		k := fmt.Sprintf("secret%d", i)
		if err := c.Set(x, &Item{Key: k, Value: []byte("s")}, Sensitive()); err != nil {
			t.Fatal(err)
		}
		if a, _ := c.ServerFor(k, Sensitive()); a != trusted.Addr {
			t.Fatalf("sensitive key %s routed to %s", k, a)
		}
	}
	plain := newClient(t, Config{Servers: []ServerConfig{{Addr: untrusted.Addr}}})
	for i := range 100 {
		if _, err := plain.Get(x, fmt.Sprintf("secret%d", i)); !errors.Is(err, ErrCacheMiss) {
			t.Fatalf("sensitive item found on the untrusted server: %v", err)
		}
	}
	if it, err := c.Get(x, "secret7", Sensitive()); err != nil || string(it.Value) != "s" {
		t.Errorf("Get sensitive: %v", err)
	}
	// Non-sensitive keys use both servers.
	seen := map[string]bool{}
	for i := range 100 {
		a, _ := c.ServerFor(fmt.Sprintf("k%d", i))
		seen[a] = true
	}
	if len(seen) != 2 {
		t.Errorf("plain keys on %d servers, want 2", len(seen))
	}
	none := newClient(t, Config{Servers: []ServerConfig{{Addr: untrusted.Addr}}})
	if err := none.Set(x, &Item{Key: "s", Value: []byte("v")}, Sensitive()); !errors.Is(err, ErrNoTrustedServer) {
		t.Errorf("sensitive with no trusted server: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNoServers) {
		t.Errorf("no servers: %v", err)
	}
	if _, err := New(Config{Servers: []ServerConfig{{Addr: "nohostport"}}}); err == nil {
		t.Error("bad address accepted")
	}
	if _, err := New(Config{Servers: []ServerConfig{{Addr: "a:1"}, {Addr: "a:1"}}}); err == nil {
		t.Error("duplicate server accepted")
	}
}

// TestPoolLimit hammers one server from many goroutines: the pool never
// grows past its limit and every call succeeds by sharing connections.
func TestPoolLimit(t *testing.T) {
	srv := testenv.StartMemcached(t)
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, MaxConnsPerServer: 3})
	x := ctx(t)
	if err := c.Set(x, &Item{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 32)
	for range 32 {
		go func() {
			var err error
			for range 50 {
				if _, err = c.Get(x, "k"); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 32 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := c.servers[0]
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	if n < 1 || n > 3 {
		t.Errorf("%d connections, want 1..3", n)
	}
}

// hangUpServer accepts connections and closes them at once, like a cache
// that is up but broken.
func hangUpServer(t *testing.T) string {
	return fakeServer(t, func(c net.Conn) { c.Close() })
}

// TestSensitiveNeverRehashedToUntrusted: with Rehash, once dead-server
// detection marks the only trusted server dead, every sensitive call fails
// with a clear error instead of moving to the live untrusted server, which
// is never even dialed for them; plain keys still rehash to it.
func TestSensitiveNeverRehashedToUntrusted(t *testing.T) {
	untrusted := testenv.StartMemcached(t)
	trusted := hangUpServer(t)
	var mu sync.Mutex
	dials := map[string]int{}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials[addr]++
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: untrusted.Addr}, {Addr: trusted, Trusted: true}},
		Rehash: true, FailureLimit: 1, RetryBackoff: time.Hour, Dial: dial})
	x := ctx(t)
	if err := c.Set(x, &Item{Key: "secret", Value: []byte("s")}, Sensitive()); err == nil {
		t.Fatal("Set to a server that hangs up succeeded")
	}
	if !c.servers[1].dead(time.Now()) {
		t.Fatal("trusted server not marked dead")
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"ServerFor", func() error { _, err := c.ServerFor("secret", Sensitive()); return err }},
		{"Set", func() error { return c.Set(x, &Item{Key: "secret", Value: []byte("s")}, Sensitive()) }},
		{"Add", func() error { return c.Add(x, &Item{Key: "secret", Value: []byte("s")}, Sensitive()) }},
		{"Get", func() error { _, err := c.Get(x, "secret", Sensitive()); return err }},
		{"GetMulti", func() error { _, err := c.GetMulti(x, []string{"secret", "other"}, Sensitive()); return err }},
		{"Delete", func() error { return c.Delete(x, "secret", Sensitive()) }},
		{"Increment", func() error { _, err := c.Increment(x, "secret", 1, Sensitive()); return err }},
	}
	for _, tc := range calls {
		err := tc.call()
		if !errors.Is(err, ErrNoLiveServers) || !strings.Contains(err.Error(), "trusted server") || !strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v, want ErrNoLiveServers naming the trusted servers and the key", tc.name, err)
		}
	}
	mu.Lock()
	n := dials[untrusted.Addr]
	mu.Unlock()
	if n != 0 {
		t.Fatalf("untrusted server dialed %d times for sensitive calls", n)
	}
	if err := c.Set(x, &Item{Key: "plain", Value: []byte("p")}); err != nil {
		t.Errorf("plain Set rehashed to the untrusted server: %v", err)
	}
	direct := newClient(t, Config{Servers: []ServerConfig{{Addr: untrusted.Addr}}})
	if _, err := direct.Get(x, "secret"); !errors.Is(err, ErrCacheMiss) {
		t.Errorf("untrusted server holds the sensitive key: %v", err)
	}
}

// TestPoolOpensSecondConnectionWhenBusy: a call that finds the only
// connection busy opens another while under MaxConnsPerServer, instead of
// queueing behind a reply that may be slow.
func TestPoolOpensSecondConnectionWhenBusy(t *testing.T) {
	srv := testenv.StartMemcached(t)
	var rec connRecorder
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, Dial: rec.dial, MaxConnsPerServer: 2})
	x := ctx(t)
	if err := c.Set(x, &Item{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	rec.conn(0).gate.Lock() // the first connection's replies wait
	held, err := c.GetAsync(x, "k")
	if err == nil {
		_, err = c.Get(x, "k")
	}
	rec.conn(0).gate.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := held.Wait(x); err != nil {
		t.Fatal(err)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	// The pool is full: a third busy moment pipelines instead of dialing.
	rec.conn(0).gate.Lock()
	rec.conn(1).gate.Lock()
	var pend []*Pending
	for range 3 {
		p, err := c.GetAsync(x, "k")
		if err != nil {
			t.Fatal(err)
		}
		pend = append(pend, p)
	}
	rec.conn(0).gate.Unlock()
	rec.conn(1).gate.Unlock()
	for _, p := range pend {
		if _, err := p.Wait(x); err != nil {
			t.Fatal(err)
		}
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d connections with a pool of 2", n)
	}
}

// TestRefusedExtraConnectionPipelines: when the server refuses a second
// connection (memcached at its -c limit, say) while the first is busy, the
// call pipelines on the first and the server is not counted as failing.
func TestRefusedExtraConnectionPipelines(t *testing.T) {
	srv := testenv.StartMemcached(t)
	var rec connRecorder
	var dials atomic.Int32
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) > 1 {
			return nil, errors.New("connection refused (test)")
		}
		return rec.dial(ctx, network, addr)
	}
	c := newClient(t, Config{Servers: []ServerConfig{{Addr: srv.Addr}}, Dial: dial, MaxConnsPerServer: 2, FailureLimit: 1})
	x := ctx(t)
	if err := c.Set(x, &Item{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	rec.conn(0).gate.Lock() // the first connection is busy
	held, err := c.GetAsync(x, "k")
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.GetAsync(x, "k") // dials, is refused, pipelines
	rec.conn(0).gate.Unlock()
	if err != nil {
		t.Fatalf("second call with the extra dial refused: %v", err)
	}
	for _, p := range []*Pending{held, second} {
		if it, err := p.Wait(x); err != nil || string(it.Value) != "v" {
			t.Fatalf("Wait = %+v, %v", it, err)
		}
	}
	if dials.Load() != 2 || c.servers[0].dead(time.Now()) {
		t.Fatalf("%d dials, server dead %v; want 2 dials and the server alive", dials.Load(), c.servers[0].dead(time.Now()))
	}
}
