package diggi

import (
	"fmt"
	"sort"
	"sync"
)

// Agent is the Go form of the thesis's agent interface (Listing 3.1). The
// runtime calls every method under the agent's baton, in the order Init,
// Start, then Receive for each delivered message that no subscription
// claims, then Stop.
type Agent interface {
	// Init prepares state and subscriptions; messages are not delivered yet.
	Init(ctx *Context) error
	// Start is the agent's main; it must return (long-running work goes
	// into tasks, timers and handlers).
	Start(ctx *Context) error
	// Receive is the default delivery callback. The message is transient.
	Receive(m *Message)
	// Stop releases resources. It runs once, after the agent's Start.
	Stop(ctx *Context)
}

// Factory makes a new agent of one kind.
type Factory func() Agent

// Registry maps kind names, as a configuration file writes them, to
// factories.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Factory{}} }

// DefaultRegistry is the registry instances use unless told otherwise.
var DefaultRegistry = NewRegistry()

// Register adds a kind; registering a kind twice is an error.
func (r *Registry) Register(kind string, f Factory) error {
	if kind == "" || f == nil {
		return fmt.Errorf("register agent kind %q: empty kind or nil factory", kind)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[kind]; dup {
		return fmt.Errorf("register agent kind %q: already registered", kind)
	}
	r.m[kind] = f
	return nil
}

// New makes an agent of the given kind.
func (r *Registry) New(kind string) (Agent, error) {
	r.mu.RLock()
	f, ok := r.m[kind]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("agent kind %q: not registered (known: %v)", kind, r.Kinds())
	}
	return f(), nil
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Register adds a kind to DefaultRegistry, typically from an init
// function; it panics on a duplicate, like database/sql.Register.
func Register(kind string, f Factory) {
	if err := DefaultRegistry.Register(kind, f); err != nil {
		panic(err)
	}
}
