package diggi

import (
	"errors"
	"fmt"
)

// ErrUnknownAgent reports a destination that no agent answers to.
var ErrUnknownAgent = errors.New("diggi: unknown destination agent")

// Router is the routing step of the global message scheduler (§3.3). The
// scheduler's single mover goroutine pops messages from the agents'
// outbound queues in per-sender FIFO order and hands each to Route, which
// owns the message from then on and passes it to fwd.Forward (delivery to
// the destination's inbound queue, or later to an inter-instance link),
// or releases it.
//
// The runtime installs Direct. Tests replace it to instrument or attack
// the untrusted middle: see every byte that passes, flip bits, drop,
// replay, reorder or inject messages. Route runs on the mover goroutine
// only and must not block.
//
// With a Router set in InstanceOptions, every message between agents
// passes through it. With none (Direct), a sender whose earlier messages
// have all been routed performs the routing step itself and puts the
// message straight into the destination's inbound queue: same order and
// back-pressure, one goroutine hand-off less per message.
type Router interface {
	Route(m *Message, fwd Forwarder)
}

// Forwarder is the delivery side a Router talks to.
type Forwarder interface {
	// Forward takes ownership of m and delivers it to m.Dst. It never
	// blocks: the mover only offers a message once the destination has
	// room, and extra messages a router injects wait in a per-destination
	// overflow list. Undeliverable messages are released (a request is
	// answered with an error response first); the error says why.
	Forward(m *Message) error
}

// RouterFunc adapts a function to the Router interface.
type RouterFunc func(m *Message, fwd Forwarder)

// Route calls f(m, fwd).
func (f RouterFunc) Route(m *Message, fwd Forwarder) { f(m, fwd) }

// Direct is the default router: it forwards every message unchanged.
var Direct Router = RouterFunc(func(m *Message, fwd Forwarder) { _ = fwd.Forward(m) })

// bounceText is the error payload of a request the runtime could not deliver.
func bounceText(m *Message, why error) []byte {
	return fmt.Appendf(nil, "deliver %s message to %s: %v", m.Type, m.Dst, why)
}
