package experiments

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/diggi/link"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/trust"
)

// Remote puts the client agents in an instance of their own, linked by an
// attested link to a cache agent in another instance (another process,
// another machine): the thesis's inter-process and multi-machine set-ups
// (Figs. 5.3, 5.5). The client agents' target becomes
// "CacheInstance/cache:11211"; nothing else about them changes.
type Remote struct {
	Instance      string // this instance's name
	CacheInstance string // the cache agent's instance
	// CacheTrusted is the cache agent's trust flag as its layout says.
	CacheTrusted bool
	// CacheArgs are the cache agent's memcached flags as its layout says:
	// they are part of its measurement, which the client agents verify.
	CacheArgs []string
	Listen    string   // this instance's link address (IP:port, port 0 picks one)
	Seeds     []string // link addresses to join
	// StateDir holds the sim platform this process shares with the cache's
	// (trust.LoadOrCreateSimRoot): each then admits the other's evidence.
	StateDir string
}

// CacheConfig is the cache's instance as its layout describes it: the
// peer this instance verifies the cache agent against.
func (r *Remote) CacheConfig() diggi.Config { return r.CacheConfigFor(r.CacheInstance) }

// CacheInstances are the instances holding the cache agents of a Setup
// with Remote: CacheInstance, then CacheInstance1, CacheInstance2 ... up
// to Setup.Caches, each with one cache agent as CacheConfig describes.
func (s Setup) CacheInstances() []string {
	if s.Remote == nil {
		return nil
	}
	names := []string{s.Remote.CacheInstance}
	for i := 1; i < s.Caches; i++ {
		names = append(names, fmt.Sprintf("%s%d", s.Remote.CacheInstance, i))
	}
	return names
}

// CacheConfigFor is cache instance name (one of Setup.CacheInstances) as
// its layout describes it.
func (r *Remote) CacheConfigFor(name string) diggi.Config {
	return diggi.Config{Instance: name, Agents: []diggi.AgentConfig{{
		Name: CacheName, Kind: cacheagent.Kind, Trusted: r.CacheTrusted,
		Options: cacheagent.Options(r.CacheArgs, cacheagent.DefaultPort, false),
	}}}
}

// Config is the client agents' instance, as the cache's layout must list
// it among its peers.
func (s Setup) Config() diggi.Config { return s.config() }

// simPlatform is a fresh sim platform in process, or with Remote the one
// in Remote.StateDir shared with the cache's process.
func (s *Setup) simPlatform() (*trust.SimRoot, *trust.Platform, error) {
	if s.Remote == nil {
		root, err := trust.NewSimRoot()
		if err != nil {
			return nil, nil, err
		}
		plat, err := trust.NewPlatform(root)
		return root, plat, err
	}
	root, err := trust.LoadOrCreateSimRoot(s.Remote.StateDir)
	if err != nil {
		return nil, nil, err
	}
	plat, err := trust.LoadOrCreatePlatform(s.Remote.StateDir, root)
	return root, plat, err
}

// join starts the instance's cluster node: its link certificate carries
// the evidence of a link enclave signed as securecached's, and it admits
// peers with that signer under the shared sim root, as a deployment with
// "allow_simulated" does (server.Deployment.joinCluster).
func (b *Bench) join(backend trust.Backend, root *trust.SimRoot) error {
	r := b.setup.Remote
	bin, err := trust.ExecutableHash()
	if err != nil {
		return err
	}
	var tr link.Trust
	tr.Enclave, err = backend.Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{BinaryHash: bin, Kind: "diggi-link"}, Signer: signer})
	if err != nil {
		return fmt.Errorf("experiments: link enclave: %w", err)
	}
	tr.Verifier, err = trust.NewVerifier(trust.Policy{AllowSimulated: true, Signers: []trust.Signer{signer},
		SimRoots: []*x509.Certificate{root.Certificate()}})
	if err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	b.node, err = cluster.Start(cluster.Options{Instance: b.in, Trust: tr, Logger: b.setup.Logger,
		Config: cluster.Config{Listen: r.Listen, Seeds: r.Seeds}})
	if err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	return nil
}

// LinkAddr is the address of this instance's link ("" without Remote):
// the seed a cache's layout names.
func (b *Bench) LinkAddr() string {
	if b.node == nil {
		return ""
	}
	return b.node.Address()
}

// WaitCache waits until the remote cache agents are in this instance's
// directory (their instances linked) and accept connections, or ctx ends.
// A deployment joins its cluster before its agents start, so an agent
// can be known before it listens.
func (b *Bench) WaitCache(ctx context.Context) error {
	for _, inst := range b.setup.CacheInstances() {
		if err := b.waitAgent(ctx, inst+"/"+CacheName); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bench) waitAgent(ctx context.Context, name string) error {
	addr := fmt.Sprintf("%s:%d", name, cacheagent.DefaultPort)
	var err error
	for {
		if _, ok := b.in.Directory().Lookup(name); ok {
			var c net.Conn
			if c, err = netconn.Dial(ctx, b.agents[0].sys, addr); err == nil {
				return c.Close()
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("experiments: %s not accepting: %w (%w)", name, err, context.Cause(ctx))
			}
			return fmt.Errorf("experiments: %s not linked: %w", name, context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
