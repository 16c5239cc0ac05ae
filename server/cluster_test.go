package server

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/gateway"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/ca"
)

// TestDeploymentAcrossInstances: a layout with a cluster section. One
// deployment holds only a trusted cache agent; another holds only a
// gateway whose backend is that agent ("cachenode/cache:11211"). A
// memcached client of the gateway is served by the cache agent of the
// other instance, over an attested link, the pair's channel end to end.
func TestDeploymentAcrossInstances(t *testing.T) {
	dir := t.TempDir() // one sim platform: each admits the other's evidence
	cacheCfg := diggi.Config{Instance: "cachenode", Agents: []diggi.AgentConfig{
		{Name: "cache", Kind: cacheagent.Kind, Trusted: true},
	}}
	gwCfg := diggi.Config{Instance: "gwnode", Agents: []diggi.AgentConfig{
		{Name: "gateway", Kind: gateway.Kind, Options: diggi.Options{gateway.OptListen: "127.0.0.1:0", gateway.OptBackend: "cachenode/cache:11211"}},
	}}
	cacheNode := start(t, Layout{Diggi: cacheCfg, Trust: TrustOptions{Backend: BackendSim, StateDir: dir},
		Cluster: &cluster.Config{Listen: "127.0.0.1:0", AllowSimulated: true, Peers: []diggi.Config{gwCfg}}}, Options{})
	gwNode := start(t, Layout{Diggi: gwCfg, Trust: TrustOptions{Backend: BackendSim, StateDir: dir},
		Cluster: &cluster.Config{Listen: "127.0.0.1:0", Seeds: []string{cacheNode.ClusterAddr()}, AllowSimulated: true, Peers: []diggi.Config{cacheCfg}}}, Options{})

	c, err := net.Dial("tcp", gwNode.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "set k 0 0 5\r\nhello\r\nget k\r\n")
	want := "STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestParseLayoutCluster: the cluster section parses, takes the Diggi
// address as its listen address by default, and lets an instance run
// without a gateway.
func TestParseLayoutCluster(t *testing.T) {
	l, err := ParseLayout([]byte(`{"diggi": {"instance": "n1", "address": "127.0.0.1:7100",
		"agents": [{"name": "cache", "kind": "securecached", "trusted": true}]},
		"cluster": {"seeds": ["127.0.0.1:7101"], "allow_simulated": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if l.Cluster == nil || l.Cluster.Listen != "127.0.0.1:7100" || len(l.Cluster.Seeds) != 1 {
		t.Fatalf("cluster %+v", l.Cluster)
	}
	_, err = ParseLayout([]byte(`{"diggi": {"instance": "n1", "agents": [{"name": "cache", "kind": "securecached"}]},
		"cluster": {"listen": "127.0.0.1:7100", "bogus": 1}}`))
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown cluster field: %v", err)
	}
}

// TestDeploymentLinksOnCACertificates: two instances whose cluster
// sections name an attestation-gated CA attest their link keys to it, link
// on the certificates it issues for their instance names, and carry a
// memcached client's traffic from one's gateway to the other's trusted
// cache agent. An instance the CA refuses (its policy trusts another sim
// root than this platform's) gets no link certificate and does not start.
func TestDeploymentLinksOnCACertificates(t *testing.T) {
	dir := t.TempDir()
	root, err := trust.LoadOrCreateSimRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	url, caFile := startCA(t, root.Certificate())
	cacheCfg := diggi.Config{Instance: "cachenode", Agents: []diggi.AgentConfig{
		{Name: "cache", Kind: cacheagent.Kind, Trusted: true},
	}}
	gwCfg := diggi.Config{Instance: "gwnode", Agents: []diggi.AgentConfig{
		{Name: "gateway", Kind: gateway.Kind, Options: diggi.Options{gateway.OptListen: "127.0.0.1:0", gateway.OptBackend: "cachenode/cache:11211"}},
	}}
	// No allow_simulated: the links admit sim evidence only through the
	// CA, whose policy accepts it.
	caCfg := &cluster.CAConfig{URL: url, Cert: caFile}
	cacheNode := start(t, Layout{Diggi: cacheCfg, Trust: TrustOptions{Backend: BackendSim, StateDir: dir},
		Cluster: &cluster.Config{Listen: "127.0.0.1:0", CA: caCfg, Peers: []diggi.Config{gwCfg}}}, Options{})
	gwNode := start(t, Layout{Diggi: gwCfg, Trust: TrustOptions{Backend: BackendSim, StateDir: dir},
		Cluster: &cluster.Config{Listen: "127.0.0.1:0", Seeds: []string{cacheNode.ClusterAddr()}, CA: caCfg, Peers: []diggi.Config{cacheCfg}}}, Options{})

	c, err := net.Dial("tcp", gwNode.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "set k 0 0 5\r\nhello\r\nget k\r\n")
	want := "STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v", got, err)
	}

	// A CA that refuses this platform: the instance does not start.
	otherDir := t.TempDir()
	otherRoot, err := trust.LoadOrCreateSimRoot(otherDir)
	if err != nil {
		t.Fatal(err)
	}
	refusingURL, refusingFile := startCA(t, otherRoot.Certificate()) // another sim world's root
	_, err = Start(Layout{Diggi: cacheCfg, Trust: TrustOptions{Backend: BackendSim, StateDir: dir},
		Cluster: &cluster.Config{Listen: "127.0.0.1:0", CA: &cluster.CAConfig{URL: refusingURL, Cert: refusingFile}}}, Options{})
	var refused *ca.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("an instance the CA refused started its links: %v", err)
	}
}
