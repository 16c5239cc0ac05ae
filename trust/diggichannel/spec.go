package diggichannel

import (
	"encoding/json"
	"fmt"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/trust"
)

// Agents says, from the instance's own configuration rather than from the
// runtime's directory, how each agent is launched and whether it is
// trusted. In a real TEE the configuration is part of the measurement, so
// a trusted agent can rely on it; the directory it cannot.
type Agents interface {
	Spec(diggi.Info) (trust.LaunchSpec, error)
	Trusted(diggi.Info) (bool, error)
}

// ConfigAgents is Agents for the configurations of one or more instances
// (the local one, and the peers whose agents it talks to).
type ConfigAgents struct {
	bin     [32]byte
	signer  trust.Signer
	specs   map[string]trust.LaunchSpec // by "instance/name"
	trusted map[string]bool
}

// AgentsFromConfig describes the agents of cfg: the code identity is the
// running binary's hash and the agent kind, and the measured configuration
// is the canonical JSON of the agent's entry (name, kind, trusted flag and
// options, keys sorted), so changing any option of a trusted agent changes
// its measurement.
func AgentsFromConfig(cfg diggi.Config, signer trust.Signer) (*ConfigAgents, error) {
	bin, err := trust.ExecutableHash()
	if err != nil {
		return nil, err
	}
	a := &ConfigAgents{bin: bin, signer: signer, specs: map[string]trust.LaunchSpec{}, trusted: map[string]bool{}}
	return a, a.Add(cfg)
}

// Add describes the agents of another instance's configuration (same
// binary, same signer), so that channels to them can be verified.
func (a *ConfigAgents) Add(cfg diggi.Config) error {
	for _, ac := range cfg.Agents {
		canon, err := json.Marshal(struct {
			Name    string            `json:"name"`
			Kind    string            `json:"kind"`
			Trusted bool              `json:"trusted"`
			Options map[string]string `json:"options"`
		}{ac.Name, ac.Kind, ac.Trusted, ac.Options})
		if err != nil {
			return fmt.Errorf("canonical config of %s: %w", ac.Name, err)
		}
		key := cfg.Instance + "/" + ac.Name
		if _, dup := a.specs[key]; dup {
			return fmt.Errorf("diggichannel: agent %s described twice", key)
		}
		a.specs[key] = trust.LaunchSpec{
			Identity: trust.CodeIdentity{BinaryHash: a.bin, Kind: ac.Kind},
			Config:   canon,
			Signer:   a.signer,
		}
		a.trusted[key] = ac.Trusted
	}
	return nil
}

func (a *ConfigAgents) key(info diggi.Info) (string, error) {
	key := info.Instance + "/" + info.Name
	if _, ok := a.specs[key]; !ok || info.Name == "" {
		return "", fmt.Errorf("%w: %s is in no known configuration", ErrUnknownPeer, info)
	}
	return key, nil
}

// Spec returns the launch spec of a configured agent.
func (a *ConfigAgents) Spec(info diggi.Info) (trust.LaunchSpec, error) {
	key, err := a.key(info)
	if err != nil {
		return trust.LaunchSpec{}, err
	}
	return a.specs[key], nil
}

// Trusted reports whether the configuration marks the agent trusted.
func (a *ConfigAgents) Trusted(info diggi.Info) (bool, error) {
	key, err := a.key(info)
	if err != nil {
		return false, err
	}
	return a.trusted[key], nil
}
