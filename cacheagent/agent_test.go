package cacheagent

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/internal/testdiggi"
	"github.com/securecached/securecached/internal/testwire"
)

var trustModes = []struct {
	name    string
	trusted bool
}{{"untrusted", false}, {"trusted", true}}

func TestCacheAgentServesTextAndBinary(t *testing.T) {
	for _, m := range trustModes {
		t.Run(m.name, func(t *testing.T) {
			st := newStack(t, stackOptions{trusted: m.trusted})
			c := st.dial(t)
			r := bufio.NewReader(c)
			steps := []struct{ req, want string }{
				{"set k 5 0 3\r\nabc\r\n", "STORED\r\n"},
				{"get k\r\n", "VALUE k 5 3\r\nabc\r\nEND\r\n"},
				{"append k 0 0 2\r\nde\r\n", "STORED\r\n"},
				{"mg k v f\r\n", "VA 5 f5\r\nabcde\r\n"},
				{"incr k 1\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
				{"delete k\r\n", "DELETED\r\n"},
				{"get k\r\n", "END\r\n"},
			}
			for _, s := range steps {
				testwire.Exchange(t, c, r, s.req, s.want)
			}
			// A second connection negotiates binary on its first byte.
			b := st.dial(t)
			noop := []byte{0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0}
			b.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := b.Write(noop); err != nil {
				t.Fatal(err)
			}
			resp := make([]byte, 24)
			if _, err := io.ReadFull(b, resp); err != nil {
				t.Fatal(err)
			}
			if resp[0] != 0x81 || resp[1] != 0x0a || resp[15] != 7 {
				t.Fatalf("binary noop reply %x", resp)
			}
		})
	}
}

func TestCacheAgentGomemcacheOverDiggi(t *testing.T) {
	st := newStack(t, stackOptions{trusted: true})
	addr := netconn.Addr{Name: "cache", Port: 11211}
	mc := memcache.NewFromSelector(selector{addr})
	mc.DialContext = netconn.Dialer(st.sys)
	mc.Timeout = 5 * time.Second
	defer mc.Close()
	for i := range 50 {
		key := fmt.Sprint("key", i)
		if err := mc.Set(&memcache.Item{Key: key, Value: bytes.Repeat([]byte{byte(i)}, i*100)}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := mc.GetMulti([]string{"key1", "key49", "absent"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || len(items["key49"].Value) != 4900 {
		t.Fatalf("GetMulti: %d items", len(items))
	}
}

// selector serves one fixed Diggi address to gomemcache (its ServerList
// resolves DNS names).
type selector struct{ addr netconn.Addr }

func (s selector) PickServer(string) (net.Addr, error) { return s.addr, nil }
func (s selector) Each(f func(net.Addr) error) error   { return f(s.addr) }

func TestCacheAgentYieldsAtReqsPerEvent(t *testing.T) {
	st := newStack(t, stackOptions{args: "-R 1"})
	c := st.dial(t)
	r := bufio.NewReader(c)
	testwire.Exchange(t, c, r, "set k 0 0 1\r\nx\r\n", "STORED\r\n")
	const n = 200
	req := strings.Repeat("get k\r\n", n)
	want := strings.Repeat("VALUE k 0 1\r\nx\r\nEND\r\n", n)
	testwire.Exchange(t, c, r, req, want)
	// The yields were counted: the pipeline really was split.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "stats\r\n")
	stats := readStats(t, r)
	if stats["conn_yields"] == "0" {
		t.Fatalf("conn_yields = 0 with -R 1 and a %d-request pipeline", n)
	}
}

// readStats reads a "stats" reply into a map.
func readStats(t *testing.T, r *bufio.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		if line == "END" {
			return out
		}
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "STAT" {
			out[f[1]] = f[2]
		}
	}
}

func TestCacheAgentSlowReaderDoesNotStallOthers(t *testing.T) {
	st := newStack(t, stackOptions{args: "-I 2m -m 64"})
	slow := st.dial(t)
	r := bufio.NewReader(slow)
	val := bytes.Repeat([]byte("v"), 1<<20)
	testwire.Exchange(t, slow, r, fmt.Sprintf("set big 0 0 %d\r\n%s\r\n", len(val), val), "STORED\r\n")
	// Ask for far more than any window holds and do not read.
	slow.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(slow, strings.Repeat("get big\r\n", 8)); err != nil {
		t.Fatal(err)
	}
	// Meanwhile another client is served promptly.
	fast := st.dial(t)
	fr := bufio.NewReader(fast)
	for i := range 100 {
		testwire.Exchange(t, fast, fr, fmt.Sprintf("set f%d 0 0 1\r\nx\r\n", i), "STORED\r\n")
	}
	// The slow reader still gets every byte, in order.
	hdr := fmt.Sprintf("VALUE big 0 %d\r\n", len(val))
	for range 8 {
		got := make([]byte, len(hdr)+len(val)+len("\r\nEND\r\n"))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got, []byte(hdr)) || !bytes.HasSuffix(got, []byte("\r\nEND\r\n")) {
			t.Fatalf("slow reader got a damaged reply")
		}
	}
}

func TestCacheAgentManyClientsAndAbandonedRequests(t *testing.T) {
	st := newStack(t, stackOptions{trusted: true})
	dial := func() (net.Conn, error) { return netconn.Dial(t.Context(), st.sys, "cache:11211") }
	for _, err := range testwire.Crowd(200, 20*time.Second, dial, func(i int, c net.Conn) error {
		if i%4 == 0 {
			// Disconnect mid-value: the reservation must be released.
			io.WriteString(c, "set half 0 0 100\r\nabc")
			return nil
		}
		return testwire.SetGet(c, bufio.NewReader(c), fmt.Sprintf("c%d", i), 10)
	}) {
		t.Error(err)
	}
	// Every session ends: nothing leaks in the agent.
	deadline := time.Now().Add(10 * time.Second)
	for st.agent.CurrConnections() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still open", st.agent.CurrConnections())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCacheAgentTimerTicksEngine(t *testing.T) {
	st := newStack(t, stackOptions{})
	c := st.dial(t)
	r := bufio.NewReader(c)
	testwire.Exchange(t, c, r, "set k 0 1 1\r\nx\r\n", "STORED\r\n")
	// The engine's clock only moves on timer messages: the item expires
	// once two ticks have passed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "get k\r\n")
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "END\r\n" {
			return
		}
		r.ReadString('\n')
		r.ReadString('\n')
		if time.Now().After(deadline) {
			t.Fatal("item with a 1 s TTL never expired: the engine clock is not ticking")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestCacheAgentRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts diggi.Options
		want string
	}{
		{"bad flag", diggi.Options{OptArgs: "-m abc"}, "args"},
		{"help", diggi.Options{OptArgs: "-h"}, "-h or -V"},
		{"bad port", diggi.Options{OptPort: "70000"}, "out of range"},
		{"bad tls", diggi.Options{OptTLS: "maybe"}, "tls"},
		{"untrusted tls without cert", diggi.Options{OptTLS: "true"}, "ssl_chain_cert"},
		{"missing auth file", diggi.Options{OptArgs: "-Y /nonexistent/auth"}, "auth file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := diggi.NewRegistry()
			if err := Register(reg, Hooks{}); err != nil {
				t.Fatal(err)
			}
			in, err := diggi.NewInstance(diggi.Config{Instance: "bad", Agents: []diggi.AgentConfig{
				{Name: "cache", Kind: Kind, Options: tc.opts},
			}}, diggi.InstanceOptions{Registry: reg, Logger: testdiggi.Quiet})
			if err == nil {
				err = in.Start()
				if err == nil {
					in.Stop()
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
