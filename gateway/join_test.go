package gateway

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testdiggi"
)

// TestGatewayMemberAdoptsAClientSentWithItsJoinAnswer: the leader takes a
// member's join and may hand it a client at once, so the client's
// msgClient can reach the member in the same drain as the join's answer,
// before the member's Start has resumed. The member must adopt it. (It
// used to drop it, its leader not yet known, and the client stayed
// connected and unanswered for good: the first 1 MB set of
// integration's TestBackPressureManyClients, now and then.) A router holds
// the answer until the client's msgClient comes, and the test holds the
// member's baton until both are queued, so one drain delivers both.
func TestGatewayMemberAdoptsAClientSentWithItsJoinAnswer(t *testing.T) {
	forEachRelay(t, func(t *testing.T, relay string) {
		gwOpts := diggi.Options{OptArgs: "-o relay=" + relay, OptBackend: "cache:11211", OptListen: "127.0.0.1:0", OptGroup: "gateway"}
		cfg := diggi.Config{Instance: "test", Agents: []diggi.AgentConfig{
			{Name: "cache", Kind: cacheagent.Kind, Options: diggi.Options{}},
			{Name: "gateway", Kind: Kind, Options: gwOpts},
			{Name: "gateway-2", Kind: Kind, Options: gwOpts},
		}}
		_, f := testdiggi.Channels(t, cfg, false)
		reg := diggi.NewRegistry()
		if err := cacheagent.Register(reg, cacheagent.Hooks{Enclave: f.Enclave}); err != nil {
			t.Fatal(err)
		}
		addrs := make(chan []net.Addr, 1)
		if err := reg.Register(Kind, func() diggi.Agent {
			return &Agent{hooks: Hooks{Listening: func(a []net.Addr) { addrs <- a }}}
		}); err != nil {
			t.Fatal(err)
		}

		// The router runs on the mover's goroutine; leader and member are
		// set before the instance starts.
		var leader, member diggi.AgentID
		var held *diggi.Message
		joined := make(chan struct{})   // the join's answer is held
		baton := make(chan struct{})    // the test holds the member's baton
		together := make(chan struct{}) // answer and client are both queued
		holding := true
		router := diggi.RouterFunc(func(m *diggi.Message, fwd diggi.Forwarder) {
			if holding && m.Src == leader && m.Dst == member {
				switch {
				case held == nil && m.Type == diggi.TypeResponse:
					held = m
					close(joined)
					return
				case held != nil && m.Type == diggi.TypeRegular:
					select {
					case <-baton:
					case <-time.After(10 * time.Second):
					}
					holding = false
					fwd.Forward(held)
					fwd.Forward(m)
					close(together)
					return
				}
			}
			fwd.Forward(m)
		})
		in, err := diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Router: router, Channels: f.ChannelFactory(), Logger: testdiggi.Quiet})
		if err != nil {
			t.Fatal(err)
		}
		lctx, _ := in.Context("gateway")
		mctx, _ := in.Context("gateway-2")
		leader, member = lctx.ID(), mctx.ID()
		started := make(chan error, 1)
		go func() { started <- in.Start() }()
		t.Cleanup(func() {
			<-started
			in.Stop()
		})
		var addr string
		select {
		case a := <-addrs:
			addr = a[0].String()
		case <-time.After(10 * time.Second):
			t.Fatal("the leader never listened")
		}
		select {
		case <-joined:
		case <-time.After(10 * time.Second):
			t.Fatal("the member never joined")
		}
		go mctx.Scheduler().Run(func() {
			close(baton)
			select {
			case <-together:
			case <-time.After(10 * time.Second):
			}
		})
		<-baton

		// The leader's turn, then the member's.
		var clients []net.Conn
		for range 2 {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			clients = append(clients, c)
		}
		select {
		case <-together:
		case <-time.After(10 * time.Second):
			t.Fatal("the leader never handed the member a client")
		}
		if err := <-started; err != nil {
			t.Fatal(err)
		}
		started <- nil
		for i, c := range clients {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte("version\r\n")); err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "VERSION ") {
				t.Fatalf("client %d (%s's turn): got %q, %v; want a VERSION line", i, []string{"leader", "member"}[i], line, err)
			}
		}
	})
}
