package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/securecached/securecached/cacheagent"
	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/gateway"
	"github.com/securecached/securecached/trust"
)

// Trust backends a layout may name.
const (
	BackendSim  = "sim"
	BackendNone = "none"
)

// ErrLayout marks a deployment description that cannot work.
var ErrLayout = errors.New("bad deployment layout")

// Layout is a whole deployment: one Diggi instance (agents, their kinds
// and options) and how trust is provided. The configuration file (-o
// config=FILE or --config FILE) is its JSON form:
//
//	{
//	  "diggi": { "instance": "node1", "agents": [ ... ] },   // diggi.Config
//	  "trust": { "backend": "sim", "state_dir": "/var/lib/securecached" }
//	}
type Layout struct {
	Diggi diggi.Config
	Trust TrustOptions
	// Cluster, if set, links this instance to others (docs/cluster.md):
	// "cluster": {"listen": ..., "seeds": [...], "peers": [...], ...}.
	Cluster *cluster.Config
}

// TrustOptions say where trusted agents get their enclaves.
type TrustOptions struct {
	// Backend is "sim" (simulated TEE: no hardware protection), "none"
	// (no trusted agents allowed), "sev-snp" or "tdx" (the confidential VM
	// the instance runs in; refused if absent), or "auto" (the hardware
	// present; refused if none, unless AllowSim).
	Backend string `json:"backend,omitempty"`
	// AllowSim lets "auto" fall back to sim on a machine without TEE
	// hardware. Off by default: no silent fallback.
	AllowSim bool `json:"allow_sim,omitempty"`
	// CA, if set, is the attestation-gated CA whose certificates trusted
	// cache agents serve with -Z instead of RA-TLS ones.
	CA *CAOptions `json:"ca,omitempty"`
	// StateDir holds the sim platform identity (simroot.pem,
	// platform.pem); DefaultStateDir() when empty.
	StateDir string `json:"state_dir,omitempty"`
	// AllowPlaintext lets two untrusted agents talk without a channel.
	// Pairs with a trusted agent are always encrypted.
	AllowPlaintext bool `json:"allow_plaintext,omitempty"`
}

type layoutFile struct {
	Diggi   json.RawMessage `json:"diggi"`
	Trust   TrustOptions    `json:"trust"`
	Cluster json.RawMessage `json:"cluster"`
}

// ParseLayout decodes a configuration file; unknown fields are errors, so a
// typo does not silently change the deployment.
func ParseLayout(data []byte) (Layout, error) {
	var f layoutFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Layout{}, fmt.Errorf("%w: %w", ErrLayout, err)
	}
	if len(f.Diggi) == 0 {
		return Layout{}, fmt.Errorf("%w: no \"diggi\" section", ErrLayout)
	}
	cfg, err := diggi.ParseConfig(f.Diggi)
	if err != nil {
		return Layout{}, fmt.Errorf("%w: %w", ErrLayout, err)
	}
	l := Layout{Diggi: cfg, Trust: f.Trust}
	if len(f.Cluster) > 0 {
		cc, err := cluster.ParseConfig(f.Cluster, cfg.Address)
		if err != nil {
			return Layout{}, fmt.Errorf("%w: %w", ErrLayout, err)
		}
		l.Cluster = &cc
	}
	return l, l.Validate()
}

// LoadLayout reads a configuration file.
func LoadLayout(path string) (Layout, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Layout{}, fmt.Errorf("configuration file: %w", err)
	}
	l, err := ParseLayout(data)
	if err != nil {
		return Layout{}, fmt.Errorf("configuration file %s: %w", path, err)
	}
	return l, nil
}

// Validate checks what the runtime would otherwise find late.
func (l *Layout) Validate() error {
	if l.Trust.Backend == "" {
		l.Trust.Backend = BackendSim
	}
	switch l.Trust.Backend {
	case BackendSim, trust.BackendAuto, trust.BackendSNP, trust.BackendTDX:
	case BackendNone:
		for _, a := range l.Diggi.Agents {
			if a.Trusted {
				return fmt.Errorf("%w: agent %q is trusted but the trust backend is %q", ErrLayout, a.Name, BackendNone)
			}
		}
	default:
		return fmt.Errorf("%w: unknown trust backend %q (want auto, sev-snp, tdx, %q or %q)", ErrLayout, l.Trust.Backend, BackendSim, BackendNone)
	}
	if l.Trust.CA != nil {
		if err := l.Trust.CA.validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrLayout, err)
		}
	}
	gateways := 0
	for _, a := range l.Diggi.Agents {
		switch a.Kind {
		case gateway.Kind:
			gateways++
		case cacheagent.Kind:
		default:
			return fmt.Errorf("%w: agent %q: unknown kind %q (want %q or %q)", ErrLayout, a.Name, a.Kind, gateway.Kind, cacheagent.Kind)
		}
	}
	// An instance of a cluster may hold only cache agents that other
	// instances' gateways reach over the links.
	if gateways == 0 && l.Cluster == nil {
		return fmt.Errorf("%w: no %q agent: nothing would accept clients", ErrLayout, gateway.Kind)
	}
	return l.Diggi.Validate()
}

// CacheAgents counts the layout's cache agents.
func (l *Layout) CacheAgents() int { return l.count(cacheagent.Kind) }

// Gateways counts the layout's gateways.
func (l *Layout) Gateways() int { return l.count(gateway.Kind) }

func (l *Layout) count(kind string) int {
	n := 0
	for _, a := range l.Diggi.Agents {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// DefaultLayout is what securecached runs without a configuration file:
// one instance with one cache agent, trusted unless untrusted is set, and
// Relays(set) gateways sharing the listeners, all configured by the
// command line (args).
func DefaultLayout(args []string, set config.Settings, untrusted bool, stateDir string) Layout {
	port := strconv.Itoa(cacheagent.DefaultPort)
	cacheOpts := cacheagent.Options(args, cacheagent.DefaultPort, set.EnableSSL)
	backend := BackendSim
	if untrusted {
		backend = BackendNone
	}
	agents := []diggi.AgentConfig{{Name: "cache", Kind: cacheagent.Kind, Trusted: !untrusted, Options: cacheOpts}}
	for i := range Relays(set) {
		name := "gateway"
		if i > 0 {
			name = fmt.Sprintf("gateway-%d", i+1)
		}
		agents = append(agents, diggi.AgentConfig{Name: name, Kind: gateway.Kind, Options: diggi.Options{
			gateway.OptArgs: cacheOpts[cacheagent.OptArgs], gateway.OptBackend: "cache:" + port,
			gateway.OptGroup: "gateway",
		}})
	}
	return Layout{
		Diggi: diggi.Config{Instance: "securecached", Agents: agents},
		Trust: TrustOptions{Backend: backend, StateDir: stateDir},
	}
}

// Relays is the number of gateways the default layout runs: memcached's
// -t (its worker threads, which do the network I/O), but no more than the
// machine's processors, since a relay is one busy thread.
func Relays(set config.Settings) int {
	return max(1, min(set.Threads, runtime.NumCPU()))
}

// DefaultStateDir is where the sim platform identity lives unless the
// layout or -o state_dir says otherwise: $STATE_DIRECTORY (systemd's
// StateDirectory=), else $XDG_STATE_HOME/securecached, else
// ~/.local/state/securecached.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		// systemd may pass several, colon-separated; the first is ours.
		if i := bytes.IndexByte([]byte(d), ':'); i >= 0 {
			d = d[:i]
		}
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "securecached"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("state directory: no $STATE_DIRECTORY and no home directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "securecached"), nil
}
