package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testdiggi"
	"github.com/securecached/securecached/internal/testwire"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ratls"
)

func TestGatewayRelaysBothTrustModes(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		t.Run(fmt.Sprint("trusted=", trusted), func(t *testing.T) {
			st := newStack(t, stackOptions{trusted: trusted})
			c := st.dial(t)
			r := bufio.NewReader(c)
			testwire.Exchange(t, c, r, "set k 0 0 5\r\nhello\r\n", "STORED\r\n")
			testwire.Exchange(t, c, r, "get k\r\n", "VALUE k 0 5\r\nhello\r\nEND\r\n")
			testwire.Exchange(t, c, r, "version\r\n", "VERSION 1.6.18\r\n")
		})
	}
}

func TestGatewayUnixSocket(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		path := filepath.Join(t.TempDir(), "mc.sock")
		st := newStack(t, stackOptions{relay: relay, gwArgs: "-s " + path + " -a 0700", listen: "-"})
		if st.addr != path {
			t.Fatalf("listening on %s, want %s", st.addr, path)
		}
		c := st.dial(t)
		testwire.Exchange(t, c, bufio.NewReader(c), "set u 0 0 1\r\nx\r\nget u\r\n", "STORED\r\nVALUE u 0 1\r\nx\r\nEND\r\n")
	})
}

func TestGatewayHalfCloseGetsReply(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay})
		c := st.dial(t)
		io.WriteString(c, "set k 0 0 1\r\nx\r\nget k\r\n")
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if want := "STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n"; string(got) != want {
			t.Fatalf("got %q, want %q then EOF", got, want)
		}
	})
}

func TestGatewayConnectionLimit(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay, gwArgs: "-c 2"})
		a, b := st.dial(t), st.dial(t)
		for _, c := range []net.Conn{a, b} {
			testwire.Exchange(t, c, bufio.NewReader(c), "version\r\n", "VERSION 1.6.18\r\n")
		}
		third := st.dial(t)
		got, _ := io.ReadAll(third)
		if string(got) != tooManyConns {
			t.Fatalf("third connection got %q, want %q", got, tooManyConns)
		}
		if st.gw.Rejected() != 1 {
			t.Fatalf("rejected = %d, want 1", st.gw.Rejected())
		}
		// A freed slot is reusable.
		a.Close()
		waitFor(t, "slot to free", func() bool { return st.gw.Conns() == 1 })
		c := st.dial(t)
		testwire.Exchange(t, c, bufio.NewReader(c), "version\r\n", "VERSION 1.6.18\r\n")
	})
}

// Gateways in one group share a listener: clients go to each in turn,
// every one relays its own, and -c counts the whole group.
func TestGatewayGroupSharesListener(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay, gwArgs: "-c 4", gateways: 2})
		var first []net.Conn
		for i := range 4 {
			c := st.dial(t)
			first = append(first, c)
			testwire.Exchange(t, c, bufio.NewReader(c), fmt.Sprintf("set k%d 0 0 1\r\nx\r\nget k%d\r\n", i, i), "STORED\r\nVALUE k"+fmt.Sprint(i)+" 0 1\r\nx\r\nEND\r\n")
		}
		for i, g := range st.gws {
			waitFor(t, fmt.Sprintf("gateway %d to relay two clients", i), func() bool { return g.relayed(t) == 2 })
		}
		fifth := st.dial(t)
		if got, _ := io.ReadAll(fifth); string(got) != tooManyConns {
			t.Fatalf("fifth connection got %q, want %q", got, tooManyConns)
		}
		var rejected uint64
		var conns int
		for _, g := range st.gws {
			rejected += g.Rejected()
			conns += g.Conns()
		}
		if rejected != 1 || conns != 4 || st.gws[1].Rejected() != 0 {
			t.Errorf("group: rejected %d, conns %d; want 1 and 4, the rejection the leader's", rejected, conns)
		}
		// The member gives its clients' slots back to the leader by
		// message: once every client has gone, -c admits four again.
		for _, c := range first {
			c.Close()
		}
		waitFor(t, "the group's slots to come back", func() bool { return len(st.gws[0].leader.slots.tokens) == 0 })
		for i := range 4 {
			c := st.dial(t)
			testwire.Exchange(t, c, bufio.NewReader(c), "get k"+fmt.Sprint(i)+"\r\n", "VALUE k"+fmt.Sprint(i)+" 0 1\r\nx\r\nEND\r\n")
		}
	})
}

// A member that cannot adopt the client the leader sent it (its relay
// never started, or it is stopping) still gives the slot back: it closes
// the client, and -c admits as many as before.
func TestGatewayGroupMemberThatCannotAdoptReleases(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay, gwArgs: "-c 2", gateways: 2})
		leader, member := st.gws[0], st.gws[1]
		setHandoff := func(h func(net.Conn, *slot)) {
			if err := member.ctx.Scheduler().Run(func() { member.handoff = h }); err != nil {
				t.Fatal(err)
			}
		}
		var h func(net.Conn, *slot)
		member.ctx.Scheduler().Run(func() { h = member.handoff })
		setHandoff(nil) // as after a Start whose relay failed, once joined
		defer setHandoff(h)
		for round := range 3 {
			first := st.dial(t) // the leader's turn
			testwire.Exchange(t, first, bufio.NewReader(first), "set k 0 0 1\r\nx\r\n", "STORED\r\n")
			second := st.dial(t) // the member's turn: closed, not refused
			second.SetDeadline(time.Now().Add(5 * time.Second))
			if got, err := io.ReadAll(second); len(got) != 0 || err != nil {
				t.Fatalf("round %d: client sent to the member got %q, %v; want it closed", round, got, err)
			}
			waitFor(t, "the member's slot to come back", func() bool { return len(leader.leader.slots.tokens) == 1 })
			first.Close()
			waitFor(t, "the leader's slot to come back", func() bool { return len(leader.leader.slots.tokens) == 0 })
		}
	})
}

// A member leaves by request: the leader's answer comes after every client
// it sent the member (so the member releases them all while it runs), and
// after it the leader sends the member none.
func TestGatewayGroupLeaveIsAnswered(t *testing.T) {
	st := newStack(t, stackOptions{gwArgs: "-c 2", gateways: 2})
	leader, member := st.gws[0], st.gws[1]
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rerr := member.ctx.Scheduler().Run(func() { _, err = member.ctx.Messages().Call(ctx, member.leaderID, []byte{msgLeave}) }); rerr != nil || err != nil {
		t.Fatalf("leave request: %v, %v", rerr, err)
	}
	for i := range 2 {
		c := st.dial(t)
		testwire.Exchange(t, c, bufio.NewReader(c), fmt.Sprintf("set k%d 0 0 1\r\nx\r\n", i), "STORED\r\n")
	}
	if n := leader.relayed(t); n != 2 || member.relayed(t) != 0 {
		t.Fatalf("after the member left, the leader relays %d of 2 clients", n)
	}
}

// A relay of a group takes a few ready clients per epoll_wait (groupBatch
// on Linux) and leaves the rest for the next call: a burst of many clients'
// requests, written without waiting for any reply, is served in full, each
// client its own reply. (How many are ready at once depends on timing; the
// test holds for any batch size, as it must.)
func TestGatewayGroupServesBurstBeyondBatch(t *testing.T) {
	st := newStack(t, stackOptions{relay: config.RelayEpoll, gateways: 2})
	clients := make([]net.Conn, 40)
	for i := range clients {
		clients[i] = st.dial(t)
		testwire.Exchange(t, clients[i], bufio.NewReader(clients[i]), "verbosity 0\r\n", "OK\r\n")
	}
	for i, c := range clients {
		if _, err := fmt.Fprintf(c, "set k%d 0 0 %d\r\n%d\r\nget k%d\r\n", i, len(fmt.Sprint(i)), i, i); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		want := fmt.Sprintf("STORED\r\nVALUE k%d 0 %d\r\n%d\r\nEND\r\n", i, len(fmt.Sprint(i)), i)
		got := make([]byte, len(want))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
			t.Fatalf("client %d: got %q (%v), want %q", i, got, err, want)
		}
	}
}

// Members of a group must agree on what they share.
func TestGatewayGroupRefusesDifferentOptions(t *testing.T) {
	reg := diggi.NewRegistry()
	Register(reg, Hooks{})
	base := diggi.Options{OptListen: "127.0.0.1:0", OptBackend: "g1:1", OptGroup: "g1"}
	other := diggi.Options{OptListen: "127.0.0.1:0", OptBackend: "g1:1", OptGroup: "g1", OptArgs: "-c 5"}
	in, err := diggi.NewInstance(diggi.Config{Instance: "bad", Agents: []diggi.AgentConfig{
		{Name: "g1", Kind: Kind, Options: base},
		{Name: "g2", Kind: Kind, Options: other},
	}}, diggi.InstanceOptions{Registry: reg, Logger: testdiggi.Quiet})
	if err == nil {
		if err = in.Start(); err == nil {
			in.Stop()
		}
	}
	if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), `group "g1"`) {
		t.Fatalf("err = %v, want ErrOptions naming the group", err)
	}
}

func TestGatewayIdleTimeout(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay, gwArgs: "-o idle_timeout=1"})
		c := st.dial(t)
		start := time.Now()
		if _, err := io.ReadAll(c); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("idle connection closed after %v, before idle_timeout", d)
		}
		waitFor(t, "sessions to end", func() bool { return st.gw.Conns() == 0 && st.cache.CurrConnections() == 0 })
	})
}

// TestGatewaySlowAndDeadClients: hundreds of clients, some never reading
// their replies, some vanishing mid-request; the others are served, and
// everything is released afterwards (goleak checks the goroutines).
func TestGatewaySlowAndDeadClients(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay, trusted: true, cacheArgs: "-I 2m"})
		big := st.dial(t)
		br := bufio.NewReader(big)
		val := bytes.Repeat([]byte("b"), 1<<20)
		testwire.Exchange(t, big, br, fmt.Sprintf("set big 0 0 %d\r\n%s\r\n", len(val), val), "STORED\r\n")
		// Slow readers: ask for megabytes, never read.
		for range 5 {
			s := st.dial(t)
			io.WriteString(s, strings.Repeat("get big\r\n", 16))
		}
		dial := func() (net.Conn, error) { return net.DialTimeout("tcp", st.addr, 5*time.Second) }
		for _, err := range testwire.Crowd(300, 30*time.Second, dial, func(i int, c net.Conn) error {
			if i%5 == 0 {
				io.WriteString(c, "set half 0 0 1000\r\nabc")
				return nil
			}
			return testwire.SetGet(c, bufio.NewReader(c), fmt.Sprintf("c%d", i), 5)
		}) {
			t.Error(err)
		}
		// The slow readers are still served in full once they read.
		big.Close()
		waitFor(t, "finished clients to be released", func() bool { return st.gw.Conns() <= 5 })
	})
}

func TestGatewayTLSCanary(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		const canary = "CANARY-d41d8cd98f-only-inside-the-cache-agent"
		var mu sync.Mutex
		var gwSaw, routerSaw int
		tap := func(_ Direction, p []byte) {
			if bytes.Contains(p, []byte(canary)) {
				mu.Lock()
				gwSaw++
				mu.Unlock()
			}
		}
		router := diggi.RouterFunc(func(m *diggi.Message, f diggi.Forwarder) {
			if bytes.Contains(m.Payload(), []byte(canary)) {
				mu.Lock()
				routerSaw++
				mu.Unlock()
			}
			f.Forward(m)
		})
		st := newStack(t, stackOptions{relay: relay, trusted: true, tls: true, tap: tap, router: router})
		v, err := trust.NewVerifier(trust.Policy{
			Signers: []trust.Signer{trust.SignerFromKey([]byte("test"))}, AllowSimulated: true,
			SimRoots: []*x509.Certificate{st.root.Certificate()},
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := ratls.ClientConfig(ratls.ClientOptions{Verifier: v})
		if err != nil {
			t.Fatal(err)
		}
		tc := tls.Client(st.dial(t), cfg)
		r := bufio.NewReader(tc)
		req := fmt.Sprintf("set secret 0 0 %d\r\n%s\r\nget secret\r\n", len(canary), canary)
		testwire.Exchange(t, tc, r, req, fmt.Sprintf("STORED\r\nVALUE secret 0 %d\r\n%s\r\nEND\r\n", len(canary), canary))
		tc.Close()
		mu.Lock()
		defer mu.Unlock()
		if gwSaw != 0 || routerSaw != 0 {
			t.Fatalf("canary seen: gateway %d times, router %d times", gwSaw, routerSaw)
		}
	})
}

func TestGatewayTapSeesPlaintextWithoutTLS(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		// Control for the canary test: the tap does see what it relays.
		var mu sync.Mutex
		var saw bool
		st := newStack(t, stackOptions{relay: relay, tap: func(_ Direction, p []byte) {
			mu.Lock()
			saw = saw || bytes.Contains(p, []byte("visible"))
			mu.Unlock()
		}})
		c := st.dial(t)
		testwire.Exchange(t, c, bufio.NewReader(c), "set k 0 0 7\r\nvisible\r\n", "STORED\r\n")
		mu.Lock()
		defer mu.Unlock()
		if !saw {
			t.Fatal("tap missed plaintext it relayed")
		}
	})
}

func TestGatewayRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts diggi.Options
		want string
	}{
		{"bad flag", diggi.Options{OptArgs: "-c zero"}, "args"},
		{"nothing to listen on", diggi.Options{OptArgs: "-p 0"}, "nothing to listen on"},
		{"bad listen address", diggi.Options{OptListen: "256.1.1.1:0", OptBackend: "gateway:1"}, "listen"},
		{"unknown backend", diggi.Options{OptListen: "127.0.0.1:0", OptBackend: "nobody:11211"}, "no such agent"},
		{"bad backend address", diggi.Options{OptListen: "127.0.0.1:0", OptBackend: "nobody"}, "backend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := diggi.NewRegistry()
			Register(reg, Hooks{})
			in, err := diggi.NewInstance(diggi.Config{Instance: "bad", Agents: []diggi.AgentConfig{
				{Name: "gateway", Kind: Kind, Options: tc.opts},
			}}, diggi.InstanceOptions{Registry: reg, Logger: testdiggi.Quiet})
			if err == nil {
				if err = in.Start(); err == nil {
					in.Stop()
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestGatewayBackendRefuses: when the cache agent does not listen, each
// client is closed at once and its slot freed.
func TestGatewayBackendRefuses(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay, backend: "cache:9999", gwArgs: "-c 1"})
		for range 3 {
			c := st.dial(t)
			got, err := io.ReadAll(c)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Fatalf("got %q from a gateway without a backend", got)
			}
			waitFor(t, "slot to free", func() bool { return st.gw.Conns() == 0 })
		}
	})
}

// TestGatewayConnLimitWithoutFastWaits: without maxconns_fast the gateway
// stops accepting at -c, as memcached does; the kernel queues the next
// client until a slot frees.
func TestGatewayConnLimitWithoutFastWaits(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay, gwArgs: "-c 1 -o no_maxconns_fast"})
		c := st.dial(t)
		r := bufio.NewReader(c)
		testwire.Exchange(t, c, r, "mn\r\n", "MN\r\n")
		c2 := st.dial(t)
		r2 := bufio.NewReader(c2)
		c2.Write([]byte("mn\r\n"))
		c2.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := r2.ReadByte(); err == nil {
			t.Fatal("second client served while the first holds the only slot")
		}
		c.Close()
		c2.SetReadDeadline(time.Now().Add(10 * time.Second))
		if line, err := r2.ReadString('\n'); err != nil || line != "MN\r\n" {
			t.Fatalf("after the slot freed: %q, %v", line, err)
		}
	})
}

// TestGatewayBackpressure: answers far larger than every buffer on the way
// (twenty 1 MB values requested before reading any) arrive whole and in
// order.
func TestGatewayBackpressure(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		st := newStack(t, stackOptions{relay: relay, trusted: true})
		c := st.dial(t)
		c.SetDeadline(time.Now().Add(60 * time.Second))
		r := bufio.NewReader(c)
		value := strings.Repeat("b", 1000*1000)
		testwire.Exchange(t, c, r, "set big 0 0 1000000\r\n"+value+"\r\n", "STORED\r\n")
		const n = 20
		if _, err := c.Write([]byte(strings.Repeat("get big\r\n", n) + "mn\r\n")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		one := "VALUE big 0 1000000\r\n" + value + "\r\nEND\r\n"
		got := make([]byte, len(one))
		for i := range n {
			if _, err := io.ReadFull(r, got); err != nil {
				t.Fatalf("answer %d: %v", i, err)
			}
			if string(got) != one {
				t.Fatalf("answer %d differs", i)
			}
		}
		if line, err := r.ReadString('\n'); err != nil || line != "MN\r\n" {
			t.Fatalf("after the values: %q, %v", line, err)
		}
	})
}

// A group is named after its leader: a group naming no gateway of the
// instance (the form before groups talked by messages) is refused with
// the reason, and a member listed before its leader still joins it.
func TestGatewayGroupNamesItsLeader(t *testing.T) {
	reg := diggi.NewRegistry()
	Register(reg, Hooks{})
	opts := diggi.Options{OptListen: "127.0.0.1:0", OptBackend: "g1:1", OptGroup: "gw"}
	in, err := diggi.NewInstance(diggi.Config{Instance: "old", Agents: []diggi.AgentConfig{
		{Name: "g1", Kind: Kind, Options: opts},
		{Name: "g2", Kind: Kind, Options: opts},
	}}, diggi.InstanceOptions{Registry: reg, Logger: testdiggi.Quiet})
	if err == nil {
		if err = in.Start(); err == nil {
			in.Stop()
		}
	}
	if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), `no gateway agent named "gw"`) {
		t.Fatalf("err = %v, want ErrOptions saying no gateway leads the group", err)
	}

	opts[OptGroup], opts[OptBackend] = "lead", "lead:1"
	in, err = diggi.NewInstance(diggi.Config{Instance: "order", Agents: []diggi.AgentConfig{
		{Name: "member", Kind: Kind, Options: opts},
		{Name: "lead", Kind: Kind, Options: opts},
	}}, diggi.InstanceOptions{Registry: reg, Logger: testdiggi.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatalf("a member listed before its leader: %v", err)
	}
	in.Stop()
}
