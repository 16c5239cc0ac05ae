package diggi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Config describes one instance, in the thesis's shape: the instance's
// name and network address and the agents it runs, in start order.
//
//	{"instance": "node1", "address": "127.0.0.1:7000",
//	 "agents": [{"name": "cache", "kind": "securecached", "trusted": true,
//	             "options": {"memory": "64"}}]}
type Config struct {
	Instance string `json:"instance"`
	// ID overrides the instance id derived from the name (see
	// InstanceIDFromName); 0 means derive.
	ID uint32 `json:"id,omitempty"`
	// Address is where the instance's inter-instance link listens
	// (host:port); empty for an instance without links.
	Address string        `json:"address,omitempty"`
	Agents  []AgentConfig `json:"agents"`
	// QueueSize is the capacity of every agent's inbound and outbound
	// queue, in messages; 0 means DefaultQueueSize.
	QueueSize int `json:"queue_size,omitempty"`
}

// AgentConfig is one agent of an instance.
type AgentConfig struct {
	Name    string  `json:"name"`
	Kind    string  `json:"kind"`
	Trusted bool    `json:"trusted,omitempty"`
	Options Options `json:"options,omitempty"`
}

// DefaultQueueSize is the default capacity of an agent's queues.
const DefaultQueueSize = 1024

// maxAgents bounds the agents of one instance (local ids are 1..maxAgents).
const maxAgents = 1 << 16

// ParseConfig decodes and validates a JSON configuration. Unknown fields are
// errors, so a misspelt key does not silently fall back to a default.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("parse diggi config: %w", err)
	}
	if dec.More() {
		return Config{}, fmt.Errorf("parse diggi config: trailing data after the object")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadConfig reads and parses a JSON configuration file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("load diggi config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate checks names and sizes (not kinds: those depend on the registry).
func (c *Config) Validate() error {
	if err := checkName("instance", c.Instance); err != nil {
		return err
	}
	if c.QueueSize < 0 || c.QueueSize > 1<<20 {
		return fmt.Errorf("diggi config: queue_size %d out of range [0, %d]", c.QueueSize, 1<<20)
	}
	if len(c.Agents) > maxAgents {
		return fmt.Errorf("diggi config: %d agents, at most %d", len(c.Agents), maxAgents)
	}
	seen := map[string]bool{}
	for i, a := range c.Agents {
		if err := checkName(fmt.Sprintf("agent %d", i), a.Name); err != nil {
			return err
		}
		if a.Kind == "" {
			return fmt.Errorf("diggi config: agent %q has no kind", a.Name)
		}
		if seen[a.Name] {
			return fmt.Errorf("diggi config: agent name %q used twice", a.Name)
		}
		seen[a.Name] = true
	}
	return nil
}

func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("diggi config: %s has no name", what)
	}
	if strings.ContainsAny(name, "/ \t\n") || len(name) > 64 {
		return fmt.Errorf("diggi config: %s name %q must be 1-64 characters without '/' or spaces", what, name)
	}
	return nil
}
