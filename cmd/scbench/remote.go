package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/experiments"
	"github.com/securecached/securecached/server"
)

// cacheInstance is the name of the instance that holds the cache agent in
// the experiments across instances.
const cacheInstance = "cachenode"

// layoutFile is a securecached layout in its file form (server.ParseLayout).
type layoutFile struct {
	Diggi   diggi.Config        `json:"diggi"`
	Trust   server.TrustOptions `json:"trust"`
	Cluster *cluster.Config     `json:"cluster,omitempty"`
}

// cacheLayout is the cache's instance for r: one cache agent, no gateway,
// linked to the client instances peers (which it verifies the client
// agents against), under the sim platform of r.StateDir.
func cacheLayout(r *experiments.Remote, listen string, seeds []string, peers ...diggi.Config) layoutFile {
	return layoutFile{
		Diggi:   r.CacheConfig(),
		Trust:   server.TrustOptions{Backend: server.BackendSim, StateDir: r.StateDir},
		Cluster: &cluster.Config{Listen: listen, Seeds: seeds, AllowSimulated: true, Peers: peers},
	}
}

// cacheProc is a securecached process running a layout.
type cacheProc struct {
	cmd  *exec.Cmd
	done chan error
}

// cacheLayoutEnv names the layout file a child process of this binary
// runs as a securecached deployment (cacheChildMain).
const cacheLayoutEnv = "SCBENCH_CACHE_LAYOUT"

// cacheChildMain runs, in a child started by startCache, the deployment of
// the layout file the environment names, exactly as securecached --config
// does (server.Start), until SIGTERM; it never returns. Why this binary
// and not securecached's: a trusted agent's measurement covers its binary
// (diggichannel.AgentsFromConfig describes peers as running the same
// binary), so the client agents of this process verify a cache agent run
// by the same executable.
func cacheChildMain() {
	path := os.Getenv(cacheLayoutEnv)
	if path == "" {
		return
	}
	err := func() error {
		l, err := server.LoadLayout(path)
		if err != nil {
			return err
		}
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		// The deployment's log (the sim backend's banner on every start)
		// would drown the experiment's output; its errors come back here.
		d, err := server.Start(l, server.Options{Log: io.Discard})
		if err != nil {
			return err
		}
		select {
		case <-sigs:
			d.Shutdown()
		case <-d.Done():
		}
		<-d.Done()
		return d.Err()
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scbench cache instance:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// startCache writes l to dir/name.json and runs this binary as a cache
// instance on it (cacheChildMain), with env (KEY=VALUE) added to its
// environment; wrap, if set, turns the command into one that runs
// elsewhere (a namespace).
func startCache(dir, name string, l layoutFile, env []string, wrap func(name string, args ...string) *exec.Cmd) (*cacheProc, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, err
	}
	var cmd *exec.Cmd
	if wrap != nil {
		cmd = wrap(bin)
	} else {
		cmd = exec.Command(bin)
	}
	cmd.Env = append(append(os.Environ(), env...), cacheLayoutEnv+"="+path)
	cmd.Stderr = os.Stderr
	// Its own process group, so that stop reaches what a wrapper started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &cacheProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// stop ends the process (SIGTERM, SIGKILL after 5 s) and waits for it.
func (p *cacheProc) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitLinked waits until b's instance sees the cache agent, failing early
// if the cache process exits.
func waitLinked(ctx context.Context, b *experiments.Bench, p *cacheProc) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- b.WaitCache(ctx) }()
	select {
	case err := <-errc:
		return err
	case err := <-p.done:
		p.done <- err // stop waits on it too
		cancel()
		<-errc
		return errors.Join(errors.New("the cache process exited"), err)
	}
}
