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

// ConfigAgents is Agents for a diggi.Config.
type ConfigAgents struct {
	instance string
	specs    map[string]trust.LaunchSpec
	trusted  map[string]bool
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
	a := &ConfigAgents{instance: cfg.Instance, specs: map[string]trust.LaunchSpec{}, trusted: map[string]bool{}}
	for _, ac := range cfg.Agents {
		canon, err := json.Marshal(struct {
			Name    string            `json:"name"`
			Kind    string            `json:"kind"`
			Trusted bool              `json:"trusted"`
			Options map[string]string `json:"options"`
		}{ac.Name, ac.Kind, ac.Trusted, ac.Options})
		if err != nil {
			return nil, fmt.Errorf("canonical config of %s: %w", ac.Name, err)
		}
		a.specs[ac.Name] = trust.LaunchSpec{
			Identity: trust.CodeIdentity{BinaryHash: bin, Kind: ac.Kind},
			Config:   canon,
			Signer:   signer,
		}
		a.trusted[ac.Name] = ac.Trusted
	}
	return a, nil
}

func (a *ConfigAgents) known(info diggi.Info) error {
	if _, ok := a.specs[info.Name]; !ok || info.Instance != a.instance {
		return fmt.Errorf("%w: %s is not in instance %s's configuration", ErrUnknownPeer, info, a.instance)
	}
	return nil
}

// Spec returns the launch spec of a configured agent.
func (a *ConfigAgents) Spec(info diggi.Info) (trust.LaunchSpec, error) {
	if err := a.known(info); err != nil {
		return trust.LaunchSpec{}, err
	}
	return a.specs[info.Name], nil
}

// Trusted reports whether the configuration marks the agent trusted.
func (a *ConfigAgents) Trusted(info diggi.Info) (bool, error) {
	if err := a.known(info); err != nil {
		return false, err
	}
	return a.trusted[info.Name], nil
}
