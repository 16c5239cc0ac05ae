package server

import (
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/diggi/link"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/gateway"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/auto"
	"github.com/securecached/securecached/trust/diggichannel"
)

// SignerKey names the code signer of securecached's agents; verifiers
// (securecached attest, RA-TLS clients) expect trust.SignerFromKey of it.
const SignerKey = "securecached"

// Signer is the signer identity securecached's enclaves report.
func Signer() trust.Signer { return trust.SignerFromKey([]byte(SignerKey)) }

// Options are process-level knobs that are not part of a layout.
type Options struct {
	// Log receives the startup banner and the runtime's log.
	Log io.Writer
	// Verbose is memcached's -v level (0..3) for the runtime's log.
	Verbose int
	// GatewayTap and Router instrument tests (see gateway.Hooks.Tap and
	// diggi.InstanceOptions.Router).
	GatewayTap func(gateway.Direction, []byte)
	Router     diggi.Router
}

// Deployment is a running layout.
type Deployment struct {
	in       *diggi.Instance
	node     *cluster.Node // nil without a cluster section
	factory  *diggichannel.Factory
	simRoot  *trust.SimRoot
	stateDir string
	// peerCheckers verify other instances' confidential VMs under the
	// cluster's hardware policy (nil without a cluster section).
	peerCheckers map[string]trust.Checker
	// level is the whole process's log level: the highest of -v and the
	// levels clients set on each cache agent with the verbosity command.
	// Each agent still filters its own lines by its own level, so a client
	// of one agent cannot silence another.
	level        slog.LevelVar
	startVerbose int
	verbosity    map[string]uint32 // by cache agent, under mu

	mu       sync.Mutex
	addrs    []net.Addr
	gateways []*gateway.Agent // started, for the cache agents' stats

	graceful atomic.Bool // the stop asked for was graceful (see Stop)
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// Start builds the trust backend, the instance and its agents, and starts
// them. The caller stops it with Shutdown and waits on Done.
func Start(l Layout, o Options) (*Deployment, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	d := &Deployment{done: make(chan struct{})}
	d.level.Set(logLevel(o.Verbose))
	log := slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: &d.level}))
	backend, err := d.backend(l.Trust, o.Log)
	if err != nil {
		return nil, err
	}
	spec, err := diggichannel.AgentsFromConfig(l.Diggi, Signer())
	if err != nil {
		return nil, fmt.Errorf("enclave specs: %w", err)
	}
	if l.Cluster != nil {
		for _, p := range l.Cluster.Peers {
			if err := spec.Add(p); err != nil {
				return nil, fmt.Errorf("cluster peers: %w", err)
			}
		}
	}
	chOpts := diggichannel.Options{Backend: backend, Agents: spec, AllowPlaintext: l.Trust.AllowPlaintext, Logger: log}
	if l.Cluster != nil {
		// A trusted agent whose peer runs on another instance's
		// confidential VM checks that VM's evidence under the cluster's
		// hardware policy, as the link does.
		if d.peerCheckers, err = clusterCheckers(*l.Cluster); err != nil {
			return nil, err
		}
		chOpts.PeerCheckers = d.peerCheckers
	}
	if d.simRoot != nil {
		chOpts.AllowSimulated = true
		chOpts.SimRoots = []*x509.Certificate{d.simRoot.Certificate()}
	}
	if d.factory, err = diggichannel.New(chOpts); err != nil {
		return nil, fmt.Errorf("trusted channels: %w", err)
	}
	reg := diggi.NewRegistry()
	d.startVerbose = o.Verbose
	hooks := cacheagent.Hooks{Enclave: d.factory.Enclave, Shutdown: d.Stop, Graceful: d.Graceful, Verbosity: d.setVerbosity, Gateways: d.gatewayStats}
	if l.Trust.CA != nil {
		if hooks.Certificates, err = d.caCertificates(l.Trust.CA); err != nil {
			return nil, err
		}
	}
	if err := cacheagent.Register(reg, hooks); err != nil {
		return nil, err
	}
	if err := gateway.Register(reg, gateway.Hooks{Tap: o.GatewayTap, Listening: d.listening, Started: d.gatewayStarted}); err != nil {
		return nil, err
	}
	d.in, err = diggi.NewInstance(l.Diggi, diggi.InstanceOptions{
		Registry: reg, Router: o.Router, Channels: d.factory.ChannelFactory(), Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if l.Cluster != nil {
		// The links come up before the agents start, so that a gateway
		// finds a cache agent of another instance when it starts.
		if err := d.joinCluster(*l.Cluster, backend, l, log); err != nil {
			return nil, err
		}
	}
	if err := d.in.Start(); err != nil {
		if d.node != nil {
			d.node.Close()
		}
		return nil, err
	}
	return d, nil
}

// backendWait bounds how long a deployment waits at start for the remote
// agents its gateways relay to.
const backendWait = 30 * time.Second

// joinCluster starts this instance's cluster node: the link certificate
// carries the evidence of a link enclave (any trusted backend) or none
// (trust backend none: an untrusted instance), or, with the section's CA,
// is the one the CA issued to that enclave for the instance's name. Peers
// are admitted by the section's policy, securecached's signer by default,
// or by the CA's chain. It then waits for the remote agents the gateways
// name ("instance/agent:port").
func (d *Deployment) joinCluster(cc cluster.Config, backend trust.Backend, l Layout, log *slog.Logger) error {
	var tr link.Trust
	if backend.Name() != BackendNone {
		bin, err := trust.ExecutableHash()
		if err != nil {
			return err
		}
		tr.Enclave, err = backend.Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{BinaryHash: bin, Kind: "diggi-link"}, Signer: Signer()})
		if err != nil {
			return fmt.Errorf("link enclave: %w", err)
		}
	}
	p, listed, err := cc.Policy()
	if err != nil {
		return err
	}
	if !listed {
		p.Signers = []trust.Signer{Signer()}
	}
	if p.AllowSimulated && d.simRoot != nil {
		p.SimRoots = append(p.SimRoots, d.simRoot.Certificate())
	}
	if tr.Verifier, err = trust.NewVerifier(p, verifierOptions(d.peerCheckers)...); err != nil {
		return fmt.Errorf("cluster policy: %w", err)
	}
	tr.AdmitUntrusted = cc.AdmitUntrusted
	if cc.CA != nil {
		if tr.CA, err = linkCA(cc.CA, tr.Enclave, d.in.Name()); err != nil {
			return err
		}
	}
	if d.node, err = cluster.Start(cluster.Options{Instance: d.in, Config: cc, Trust: tr, Logger: log}); err != nil {
		return err
	}
	log.Info("cluster: links listening", "addr", d.node.Address(), "seeds", cc.Seeds)
	deadline := time.Now().Add(backendWait)
	for _, a := range l.Diggi.Agents {
		host, _, err := netconn.ParseAddress(a.Options.String(gateway.OptBackend, gateway.DefaultBackend))
		if a.Kind != gateway.Kind || err != nil || !strings.Contains(host, "/") {
			continue
		}
		for {
			if _, ok := d.in.Directory().Lookup(host); ok {
				break
			}
			if time.Now().After(deadline) {
				d.node.Close()
				return fmt.Errorf("gateway %s: backend %s not in the cluster after %v", a.Name, host, backendWait)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// backend prepares the trust backend and says which one runs: a sim
// backend protects nothing, and the operator must know.
func (d *Deployment) backend(t TrustOptions, log io.Writer) (trust.Backend, error) {
	name, err := auto.Resolve(t.Backend, t.AllowSim, auto.Detect())
	if err != nil {
		return nil, err
	}
	switch name {
	case BackendNone:
		fmt.Fprintln(log, "trust backend: none (all agents untrusted)")
		return trust.NoneBackend{}, nil
	case trust.BackendSNP, trust.BackendTDX:
		b, err := auto.NewHardware(name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "trust backend: %s — the instance is one confidential VM; messages that leave it are sealed\n", name)
		return b, nil
	}
	if t.Backend == trust.BackendAuto {
		fmt.Fprintf(log, "trust backend: auto found %s; falling back to sim because it is explicitly allowed\n", auto.Detect())
	}
	dir := t.StateDir
	if dir == "" {
		var err error
		if dir, err = DefaultStateDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	warning, err := checkStateDir(dir)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		fmt.Fprintln(log, warning)
	}
	root, err := trust.LoadOrCreateSimRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("sim root in %s: %w", dir, err)
	}
	plat, err := trust.LoadOrCreatePlatform(dir, root)
	if err != nil {
		return nil, fmt.Errorf("sim platform in %s: %w", dir, err)
	}
	b, err := trust.NewSimBackend(plat)
	if err != nil {
		return nil, err
	}
	d.simRoot, d.stateDir = root, dir
	fmt.Fprintf(log, "trust backend: sim — a SIMULATION with no hardware protection (the host can read enclave memory); platform identity in %s\n", dir)
	return b, nil
}

// setVerbosity records a cache agent's new verbosity and lets the log
// through at the highest level any agent (or -v) asks for.
func (d *Deployment) setVerbosity(agent string, v uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.verbosity == nil {
		d.verbosity = map[string]uint32{}
	}
	d.verbosity[agent] = v
	top := d.startVerbose
	for _, l := range d.verbosity {
		top = max(top, int(l))
	}
	d.level.Set(logLevel(top))
}

// logLevel maps memcached's verbosity (-v counts, or the verbosity
// command) onto the log's level.
func logLevel(verbose int) slog.Level {
	switch {
	case verbose >= 3:
		return slog.LevelDebug
	case verbose == 2:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

func (d *Deployment) listening(a []net.Addr) {
	d.mu.Lock()
	d.addrs = append(d.addrs, a...)
	d.mu.Unlock()
}

func (d *Deployment) gatewayStarted(g *gateway.Agent) {
	d.mu.Lock()
	d.gateways = append(d.gateways, g)
	d.mu.Unlock()
}

// gatewayStats is what a cache agent's "stats" shows of the gateways
// that relay to it.
func (d *Deployment) gatewayStats(agent string) cacheagent.GatewayStats {
	d.mu.Lock()
	s := gateway.SumStats(d.gateways, agent)
	d.mu.Unlock()
	return cacheagent.GatewayStats{Relays: s.Relays, Rejected: s.Rejected, IdleKicks: s.IdleKicks}
}

// Addrs returns every gateway listener's address.
func (d *Deployment) Addrs() []net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]net.Addr(nil), d.addrs...)
}

// SimRoot returns the simulation root certificate (nil without sim); RA-TLS
// clients that accept simulated evidence need it.
func (d *Deployment) SimRoot() *x509.Certificate {
	if d.simRoot == nil {
		return nil
	}
	return d.simRoot.Certificate()
}

// ClusterAddr is the address of the instance's links, or "" without a
// cluster section.
func (d *Deployment) ClusterAddr() string {
	if d.node == nil {
		return ""
	}
	return d.node.Address()
}

// Shutdown stops the instance (every agent, every connection). Safe to
// call more than once and from any goroutine but agent code.
func (d *Deployment) Shutdown() {
	d.stopOnce.Do(func() {
		if d.node != nil {
			d.node.Close()
		}
		d.stopErr = d.in.Stop()
		close(d.done)
	})
}

// Stop shuts down as Shutdown does and records whether the stop was
// graceful: memcached's "shutdown graceful" and SIGUSR1, after which the
// process says "Gracefully stopping" as memcached does. Both stops close
// every connection and stop every agent the same way; a graceful one also
// has cache agents with -e write their sealed warm restart file while
// they stop.
func (d *Deployment) Stop(graceful bool) {
	if graceful {
		d.graceful.Store(true)
	}
	d.Shutdown()
}

// Graceful reports whether a graceful stop was asked for (see Stop).
func (d *Deployment) Graceful() bool { return d.graceful.Load() }

// Done is closed once Shutdown has finished.
func (d *Deployment) Done() <-chan struct{} { return d.done }

// Err is the instance's stop error, after Done.
func (d *Deployment) Err() error { return d.stopErr }

// clusterCheckers is the cluster section's hardware policy.
func clusterCheckers(cc cluster.Config) (map[string]trust.Checker, error) {
	c, err := HardwarePolicy{
		SNPMeasurements: cc.SNPMeasurements, SNPMinTCB: cc.SNPMinTCB,
		TDXMeasurements: cc.TDXMeasurements, TDXMinTCB: cc.TDXMinTCB,
	}.Checkers()
	if err != nil {
		return nil, fmt.Errorf("cluster policy: %w", err)
	}
	return c, nil
}
