package experiments

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/client"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/diggi/link"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust/diggichannel"
)

// TestClientSpreadsAcrossInstances: a trusted client agent in instance a
// with two targets, a trusted cache agent in instance b and an untrusted
// one in instance c, reached by Diggi address over attested links. The
// client library spreads ordinary keys over both with ketama, and keys
// marked Sensitive go to b only: trusted-only placement holds across
// instances.
func TestClientSpreadsAcrossInstances(t *testing.T) {
	w := testsim.New(t)
	cache := func(instance string, trusted bool) diggi.Config {
		return diggi.Config{Instance: instance, Agents: []diggi.AgentConfig{{
			Name: CacheName, Kind: cacheagent.Kind, Trusted: trusted,
			Options: cacheagent.Options(nil, cacheagent.DefaultPort, false),
		}}}
	}
	cfgB, cfgC := cache("b", true), cache("c", false)
	tb, tc := "b/"+CacheName+":11211", "c/"+CacheName+":11211"
	cfgA := diggi.Config{Instance: "a", Agents: []diggi.AgentConfig{{
		Name: "ycsb0", Kind: ClientKind, Trusted: true,
		Options: diggi.Options{OptTarget: tb + "," + tc, OptUntrusted: tc, OptProtocol: "binary"},
	}}}
	all := []diggi.Config{cfgA, cfgB, cfgC}
	var agents []*ClientAgent
	var seed string
	var inA *diggi.Instance
	for _, cfg := range all {
		spec, err := diggichannel.AgentsFromConfig(cfg, signer)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range all {
			if o.Instance != cfg.Instance {
				if err := spec.Add(o); err != nil {
					t.Fatal(err)
				}
			}
		}
		f, err := diggichannel.New(diggichannel.Options{Backend: w.Backend, Agents: spec, AllowSimulated: true,
			SimRoots: w.SimRoots(), AllowPlaintext: true, Logger: testpeers.Quiet})
		if err != nil {
			t.Fatal(err)
		}
		reg := diggi.NewRegistry()
		if err := cacheagent.Register(reg, cacheagent.Hooks{Enclave: f.Enclave}); err != nil {
			t.Fatal(err)
		}
		if err := reg.Register(ClientKind, clientFactory(func(a *ClientAgent) { agents = append(agents, a) })); err != nil {
			t.Fatal(err)
		}
		in, err := diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Channels: f.ChannelFactory(), Logger: testpeers.Quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = in.Stop() })
		e, v := testpeers.LinkIdentity(t, w)
		cc := cluster.Config{Listen: "127.0.0.1:0"}
		if seed != "" {
			cc.Seeds = []string{seed}
		}
		n, err := cluster.Start(cluster.Options{Instance: in, Config: cc, Trust: link.Trust{Enclave: e, Verifier: v}, Logger: testpeers.Quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		seed = n.Address()
		if cfg.Instance == "a" {
			inA = in
		}
	}
	testpeers.WaitUntil(t, "b and c in a's directory", func() bool {
		_, okB := inA.Directory().Lookup("b/" + CacheName)
		_, okC := inA.Directory().Lookup("c/" + CacheName)
		return okB && okC
	})
	a := agents[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
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
		// Each cache agent alone, to see where the keys went.
		count := func(target, prefix string) (int, error) {
			one, err := client.New(client.Config{Servers: []client.ServerConfig{{Addr: target, Weight: 1}},
				Protocol: client.Binary, Dial: netconn.Dialer(a.sys), Network: netconn.Network})
			if err != nil {
				return 0, err
			}
			defer one.Close()
			found := 0
			for i := range n {
				_, err := one.Get(ctx, fmt.Sprintf("%s%d", prefix, i))
				switch {
				case err == nil:
					found++
				case !errors.Is(err, client.ErrCacheMiss):
					return found, err
				}
			}
			return found, nil
		}
		pb, err := count(tb, "plain")
		if err != nil {
			return err
		}
		pc, err := count(tc, "plain")
		if err != nil {
			return err
		}
		sb, err := count(tb, "secret")
		if err != nil {
			return err
		}
		sc, err := count(tc, "secret")
		if err != nil {
			return err
		}
		if pb+pc != n || pb == 0 || pc == 0 {
			return fmt.Errorf("plain keys: %d on b, %d on c, want %d spread over both", pb, pc, n)
		}
		if sb != n || sc != 0 {
			return fmt.Errorf("sensitive keys: %d on the trusted b, %d on the untrusted c, want %d and 0", sb, sc, n)
		}
		t.Logf("ketama: %d plain keys on b, %d on c; all %d sensitive keys on b", pb, pc, n)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
