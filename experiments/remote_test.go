package experiments

import (
	"context"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/server"
	"github.com/securecached/securecached/ycsb"
)

// TestBenchRemote: client agents in a Bench with Remote drive a cache
// agent of a securecached deployment (server.Start, the same code path
// as securecached --config) across an attested link, in both client
// models: agent 0 preloads, then starts the others, and every operation
// succeeds.
func TestBenchRemote(t *testing.T) {
	for _, window := range []int{0, 8} {
		dir := t.TempDir()
		s := Setup{Clients: 2, Trusted: true, Window: window, Remote: &Remote{
			Instance: "ycsb", CacheInstance: "cachenode", CacheTrusted: true,
			Listen: "127.0.0.1:0", StateDir: dir,
		}}
		b := startBench(t, s)
		d, err := server.Start(server.Layout{
			Diggi: s.Remote.CacheConfig(),
			Trust: server.TrustOptions{Backend: server.BackendSim, StateDir: dir},
			Cluster: &cluster.Config{Listen: "127.0.0.1:0", Seeds: []string{b.LinkAddr()}, AllowSimulated: true,
				Peers: []diggi.Config{s.Config()}},
		}, server.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if err := b.WaitCache(ctx); err != nil {
			t.Fatal(err)
		}
		w := workloadB(t, 200, 1000)
		res, err := b.Execute(ctx, w, ycsb.PhaseRun, RunOptions{Preload: true, PlanOptions: ycsb.PlanOptions{Seed: 1, SliceKeys: true}})
		cancel()
		if err != nil {
			t.Fatalf("window %d: %v", window, err)
		}
		if n := res.Overall.Count; n != 1000 || res.Overall.Errors() != 0 || res.Preload.Overall.Count != 200 {
			t.Errorf("window %d: %d operations, %d errors, %d preloaded", window, n, res.Overall.Errors(), res.Preload.Overall.Count)
		}
		d.Shutdown()
		<-d.Done()
	}
}
