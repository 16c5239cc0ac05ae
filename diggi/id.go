package diggi

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// InstanceID names one Diggi instance (one process) in a deployment. It is
// the high half of every AgentID so that the router can tell local agents
// from agents that live behind an inter-instance link.
type InstanceID uint32

// InstanceIDFromName derives a stable instance id from an instance name
// (FNV-1a, never zero). Configurations may set an explicit id instead; a
// link must refuse a peer whose id collides with a known instance.
func InstanceIDFromName(name string) InstanceID {
	h := fnv.New32a()
	h.Write([]byte(name))
	id := InstanceID(h.Sum32())
	if id == 0 {
		id = 1
	}
	return id
}

// AgentID is the compact numeric identifier carried in message headers:
// the instance in the high 32 bits and the agent's number within the
// instance in the low 32 bits. Local number 0 is the instance's agent-agent
// (the runtime itself, the source of timer messages). The zero AgentID is
// "no agent". AgentIDs are comparable and usable as map keys.
type AgentID uint64

// NoAgent is the zero AgentID.
const NoAgent AgentID = 0

// ErrBadAgentID reports text that is not an "instance/agent" id.
var ErrBadAgentID = errors.New("diggi: malformed agent id")

// MakeAgentID combines an instance and a local agent number.
func MakeAgentID(inst InstanceID, local uint32) AgentID {
	return AgentID(uint64(inst)<<32 | uint64(local))
}

// Instance returns the instance part of the id.
func (a AgentID) Instance() InstanceID { return InstanceID(a >> 32) }

// Local returns the agent's number within its instance.
func (a AgentID) Local() uint32 { return uint32(a) }

// String formats the id as "instance/agent" in decimal, the text form
// ParseAgentID reads back.
func (a AgentID) String() string {
	return strconv.FormatUint(uint64(a.Instance()), 10) + "/" + strconv.FormatUint(uint64(a.Local()), 10)
}

// ParseAgentID parses the "instance/agent" text form of an AgentID.
func ParseAgentID(s string) (AgentID, error) {
	inst, local, ok := strings.Cut(s, "/")
	if !ok {
		return NoAgent, fmt.Errorf("%w: %q has no '/'", ErrBadAgentID, s)
	}
	i, err := strconv.ParseUint(inst, 10, 32)
	if err != nil {
		return NoAgent, fmt.Errorf("%w: instance in %q: %v", ErrBadAgentID, s, err)
	}
	l, err := strconv.ParseUint(local, 10, 32)
	if err != nil {
		return NoAgent, fmt.Errorf("%w: agent in %q: %v", ErrBadAgentID, s, err)
	}
	return MakeAgentID(InstanceID(i), uint32(l)), nil
}
