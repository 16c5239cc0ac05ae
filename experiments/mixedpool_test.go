package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/internal/testenv"
)

// TestMixedPool: a trusted client agent whose one ketama ring holds its
// instance's cache agent (by Diggi address) and a securecached process
// (over TCP). Ordinary keys land on both, each on one; keys marked
// Sensitive go only to the trusted cache agent, never to the plaintext TCP
// server; and a session of calls (hits, misses, errors, a multi-get split
// across the two kinds) answers exactly as over a pool of two TCP
// securecached processes.
func TestMixedPool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds securecached")
	}
	tcp := testenv.StartSecurecached(t)
	b := startBench(t, Setup{Clients: 1, Trusted: true, TCPTargets: []string{tcp.Addr}})
	a := b.Agents()[0]
	diggiAddr := fmt.Sprintf("%s:11211", CacheName)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var mixed []string
	err := inAgent(t, a, func() error {
		c := a.Client()
		const n = 60
		for i := range n {
			if err := c.Set(ctx, &client.Item{Key: fmt.Sprintf("plain%d", i), Value: []byte("v")}); err != nil {
				return err
			}
			if err := c.Set(ctx, &client.Item{Key: fmt.Sprintf("secret%d", i), Value: []byte("s")}, client.Sensitive()); err != nil {
				return err
			}
		}
		// Each server alone, to see where the keys went.
		has := func(srv client.ServerConfig, key string) (bool, error) {
			one, err := client.New(client.Config{Servers: []client.ServerConfig{srv},
				Dial: client.DialNetworks(map[string]client.DialFunc{"tcp": tcpDial, netconn.Network: netconn.Dialer(a.sys)})})
			if err != nil {
				return false, err
			}
			defer one.Close()
			_, err = one.Get(ctx, key)
			if errors.Is(err, client.ErrCacheMiss) {
				return false, nil
			}
			return err == nil, err
		}
		onDiggi := client.ServerConfig{Addr: diggiAddr, Network: netconn.Network}
		onTCP := client.ServerConfig{Addr: tcp.Addr, Network: "tcp"}
		var pd, pt int
		for _, prefix := range []string{"plain", "secret"} {
			for i := range n {
				k := fmt.Sprintf("%s%d", prefix, i)
				d, err := has(onDiggi, k)
				if err != nil {
					return err
				}
				tc, err := has(onTCP, k)
				if err != nil {
					return err
				}
				if d == tc {
					return fmt.Errorf("key %s: on the cache agent %v, on the TCP server %v; want exactly one", k, d, tc)
				}
				where, err := c.ServerFor(k)
				if prefix == "secret" {
					where, err = c.ServerFor(k, client.Sensitive())
				}
				if err != nil {
					return err
				}
				if want := map[bool]string{true: diggiAddr, false: tcp.Addr}[d]; where != want {
					return fmt.Errorf("key %s is on %s, the ring says %s", k, want, where)
				}
				switch {
				case prefix == "secret" && tc:
					return fmt.Errorf("sensitive key %s reached the untrusted TCP server", k)
				case prefix == "plain" && d:
					pd++
				case prefix == "plain":
					pt++
				}
			}
		}
		if pd == 0 || pt == 0 {
			return fmt.Errorf("plain keys: %d on the cache agent, %d on the TCP server; want both used", pd, pt)
		}
		t.Logf("ketama: %d plain keys on the cache agent, %d on the TCP server; all %d sensitive keys on the cache agent", pd, pt, n)
		if err := c.FlushAll(ctx, 0); err != nil {
			return err
		}
		var err error
		mixed, err = session(ctx, c)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// The same session over two TCP securecached processes.
	t1, t2 := testenv.StartSecurecached(t), testenv.StartSecurecached(t)
	tc, err := client.New(client.Config{Servers: []client.ServerConfig{{Addr: t1.Addr}, {Addr: t2.Addr}}, MaxConnsPerServer: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tcpOnly, err := session(ctx, tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("session:\n%s", strings.Join(mixed, "\n"))
	if !slices.Equal(mixed, tcpOnly) {
		t.Errorf("the mixed pool answered\n%s\nthe TCP-only pool\n%s", strings.Join(mixed, "\n"), strings.Join(tcpOnly, "\n"))
	}
}

// tcpDial dials TCP, as the client agent's pool does for tcp:// targets.
var tcpDial = (&net.Dialer{}).DialContext

// session makes a fixed series of calls over a two-server pool and returns
// each outcome as text, placement aside. Its keys must spread over both
// servers (checked with the pool's ring), so its multi-get is split; in
// the mixed pool, across the two kinds.
func session(ctx context.Context, c *client.Client) ([]string, error) {
	var out []string
	note := func(what string, err error) { out = append(out, what+": "+outcome(err)) }
	keys := make([]string, 12)
	for i := range keys {
		keys[i] = fmt.Sprintf("s%d", i)
		note("set "+keys[i], c.Set(ctx, &client.Item{Key: keys[i], Value: []byte(keys[i]), Flags: uint32(i)}))
	}
	servers := map[string]bool{}
	for _, k := range keys {
		s, err := c.ServerFor(k)
		if err != nil {
			return nil, err
		}
		servers[s] = true
	}
	if len(servers) != 2 {
		return nil, fmt.Errorf("the session's keys use %d of the 2 servers", len(servers))
	}
	m, err := c.GetMulti(ctx, append(slices.Clone(keys), "absent1", "absent2"))
	note("get multi", err)
	var got []string
	for k, it := range m {
		got = append(got, fmt.Sprintf("%s=%s/%d", k, it.Value, it.Flags))
	}
	slices.Sort(got)
	out = append(out, "get multi items: "+strings.Join(got, " "))
	_, err = c.Get(ctx, "absent1")
	note("get absent", err)
	note("add existing", c.Add(ctx, &client.Item{Key: "s1", Value: []byte("x")}))
	note("replace absent", c.Replace(ctx, &client.Item{Key: "absent3", Value: []byte("x")}))
	note("append", c.Append(ctx, &client.Item{Key: "s2", Value: []byte("+")}))
	_, err = c.Increment(ctx, "s3", 1)
	note("incr non-numeric", err)
	note("set n", c.Set(ctx, &client.Item{Key: "n", Value: []byte("41")}))
	v, err := c.Increment(ctx, "n", 1)
	note(fmt.Sprintf("incr n = %d", v), err)
	note("too large", c.Set(ctx, &client.Item{Key: "big", Value: bytes.Repeat([]byte("x"), 2<<20)}))
	note("delete", c.Delete(ctx, "s4"))
	note("delete again", c.Delete(ctx, "s4"))
	it, err := c.Get(ctx, "s2")
	note("get appended", err)
	if it != nil {
		out = append(out, "appended: "+string(it.Value))
	}
	st, err := c.Stats(ctx, "")
	note(fmt.Sprintf("stats from %d servers", len(st)), err)
	return out, nil
}

// outcome names an error by the sentinel it matches.
func outcome(err error) string {
	for _, s := range []error{client.ErrCacheMiss, client.ErrNotStored, client.ErrNonNumeric, client.ErrTooLarge, client.ErrCASConflict} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	if err != nil {
		return fmt.Sprintf("unexpected error %v", err)
	}
	return "ok"
}

// TestParseTargets: a target list mixes Diggi addresses and tcp:// servers;
// TCP servers are never trusted, Diggi targets are unless listed
// untrusted or the agent itself is not; bad targets are errors.
func TestParseTargets(t *testing.T) {
	got, err := parseTargets("b/cache:11211, tcp://127.0.0.1:11311 ,c/cache:11211", "c/cache:11211,tcp://127.0.0.1:11311", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []client.ServerConfig{
		{Addr: "b/cache:11211", Weight: 1, Network: netconn.Network, Trusted: true},
		{Addr: "127.0.0.1:11311", Weight: 1, Network: "tcp"},
		{Addr: "c/cache:11211", Weight: 1, Network: netconn.Network},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got, _ := parseTargets("b/cache:11211", "", false); got[0].Trusted {
		t.Error("an untrusted agent's target is trusted")
	}
	for _, bad := range []string{"tcp://nohost", "tcp://", "cache", "cache:port", "b/cache:11211,"} {
		if _, err := parseTargets(bad, "", true); err == nil {
			t.Errorf("target %q accepted", bad)
		}
	}
}
