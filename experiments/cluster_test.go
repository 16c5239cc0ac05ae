package experiments

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/diggi/link"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/diggichannel"
)

// TestClientAcrossInstances: a YCSB client agent in one instance drives a
// cache agent in another through the client library, over Diggi sockets
// (net.Conn) that cross an attested link, unchanged: the target is just
// "b/cache:11211". With trusted agents the socket's bytes are sealed end
// to end, under the link's TLS.
func TestClientAcrossInstances(t *testing.T) {
	for _, m := range trustModes {
		t.Run(m.name, func(t *testing.T) {
			w := testsim.New(t)
			cfgB := diggi.Config{Instance: "b", Agents: []diggi.AgentConfig{{
				Name: CacheName, Kind: cacheagent.Kind, Trusted: m.trusted,
				Options: cacheagent.Options(nil, cacheagent.DefaultPort, false),
			}}}
			cfgA := diggi.Config{Instance: "a", Agents: []diggi.AgentConfig{{
				Name: "ycsb0", Kind: ClientKind, Trusted: m.trusted,
				Options: diggi.Options{OptTarget: fmt.Sprintf("b/%s:%d", CacheName, cacheagent.DefaultPort), OptProtocol: "binary"},
			}}}
			var agents []*ClientAgent
			start := func(cfg, other diggi.Config, register func(*diggi.Registry, *diggichannel.Factory) error) *diggi.Instance {
				spec, err := diggichannel.AgentsFromConfig(cfg, trust.SignerFromKey([]byte("securecached")))
				if err != nil {
					t.Fatal(err)
				}
				if err := spec.Add(other); err != nil {
					t.Fatal(err)
				}
				f, err := diggichannel.New(diggichannel.Options{Backend: w.Backend, Agents: spec, AllowSimulated: true,
					SimRoots: w.SimRoots(), AllowPlaintext: !m.trusted, Logger: testpeers.Quiet})
				if err != nil {
					t.Fatal(err)
				}
				reg := diggi.NewRegistry()
				if err := register(reg, f); err != nil {
					t.Fatal(err)
				}
				in, err := diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Channels: f.ChannelFactory(), Logger: testpeers.Quiet})
				if err != nil {
					t.Fatal(err)
				}
				if err := in.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := in.Stop(); err != nil {
						t.Error(err)
					}
				})
				return in
			}
			inB := start(cfgB, cfgA, func(r *diggi.Registry, f *diggichannel.Factory) error {
				return cacheagent.Register(r, cacheagent.Hooks{Enclave: f.Enclave})
			})
			inA := start(cfgA, cfgB, func(r *diggi.Registry, _ *diggichannel.Factory) error {
				return r.Register(ClientKind, clientFactory(func(a *ClientAgent) { agents = append(agents, a) }))
			})
			join := func(in *diggi.Instance, seeds []string) *cluster.Node {
				e, v := testpeers.LinkIdentity(t, w)
				n, err := cluster.Start(cluster.Options{Instance: in, Config: cluster.Config{Listen: "127.0.0.1:0", Seeds: seeds},
					Trust: link.Trust{Enclave: e, Verifier: v}, Logger: testpeers.Quiet})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { n.Close() })
				return n
			}
			nb := join(inB, nil)
			join(inA, []string{nb.Address()})
			testpeers.WaitUntil(t, "the cache agent in a's directory", func() bool {
				_, ok := inA.Directory().Lookup("b/" + CacheName)
				return ok
			})
			a := agents[0]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := inAgent(t, a, func() error { return exercise(ctx, a.Client(), m.trusted) }); err != nil {
				t.Fatal(err)
			}
			if err := a.close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
