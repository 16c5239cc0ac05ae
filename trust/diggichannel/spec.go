package diggichannel

import (
	"encoding/json"
	"fmt"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/trust"
)

// SpecsFromConfig returns a Spec function for the agents of cfg: the code
// identity is the running binary's hash and the agent kind, and the
// measured configuration is the canonical JSON of the agent's entry (name,
// kind, trusted flag and options, keys sorted), so changing any option of a
// trusted agent changes its measurement.
func SpecsFromConfig(cfg diggi.Config, signer trust.Signer) (func(diggi.Info) (trust.LaunchSpec, error), error) {
	bin, err := trust.ExecutableHash()
	if err != nil {
		return nil, err
	}
	specs := map[string]trust.LaunchSpec{}
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
		specs[ac.Name] = trust.LaunchSpec{
			Identity: trust.CodeIdentity{BinaryHash: bin, Kind: ac.Kind},
			Config:   canon,
			Signer:   signer,
		}
	}
	return func(info diggi.Info) (trust.LaunchSpec, error) {
		s, ok := specs[info.Name]
		if !ok || info.Instance != cfg.Instance {
			return trust.LaunchSpec{}, fmt.Errorf("%w: %s is not in instance %s's configuration", ErrUnknownPeer, info, cfg.Instance)
		}
		return s, nil
	}, nil
}
