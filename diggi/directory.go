package diggi

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Info describes one live agent, as the directory publishes it.
type Info struct {
	ID       AgentID
	Name     string // unique within its instance
	Kind     string // the registered factory that made it
	Instance string // the instance's name
	Trusted  bool
}

// String returns the agent's "instance/agent" name.
func (i Info) String() string { return i.Instance + "/" + i.Name }

// Directory is the list of live agents an instance publishes (agent
// discovery, §3.2). Reads take no lock; the instance (and, later, links to
// other instances) add and remove entries.
type Directory struct {
	local string // this instance's name, for unqualified lookups
	mu    sync.Mutex
	snap  atomic.Pointer[[]Info]
}

func newDirectory(local string) *Directory {
	d := &Directory{local: local}
	d.snap.Store(&[]Info{})
	return d
}

// All returns every agent, sorted by id. The slice is a copy.
func (d *Directory) All() []Info { return append([]Info(nil), *d.snap.Load()...) }

// Lookup finds an agent by "instance/agent" name, or by bare agent name in
// the local instance.
func (d *Directory) Lookup(name string) (Info, bool) {
	inst, agent, qualified := strings.Cut(name, "/")
	if !qualified {
		inst, agent = d.local, name
	}
	for _, in := range *d.snap.Load() {
		if in.Name == agent && in.Instance == inst {
			return in, true
		}
	}
	return Info{}, false
}

// ByID finds an agent by id.
func (d *Directory) ByID(id AgentID) (Info, bool) {
	s := *d.snap.Load()
	i := sort.Search(len(s), func(i int) bool { return s[i].ID >= id })
	if i < len(s) && s[i].ID == id {
		return s[i], true
	}
	return Info{}, false
}

// ByKind returns the agents made by the given kind, in id order.
func (d *Directory) ByKind(kind string) []Info {
	var out []Info
	for _, in := range *d.snap.Load() {
		if in.Kind == kind {
			out = append(out, in)
		}
	}
	return out
}

// Add publishes an agent. Names must be unique per instance and ids unique.
func (d *Directory) Add(in Info) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := *d.snap.Load()
	for _, o := range old {
		if o.ID == in.ID || (o.Name == in.Name && o.Instance == in.Instance) {
			return fmt.Errorf("directory: %s (%s) clashes with %s (%s)", in, in.ID, o, o.ID)
		}
	}
	next := append(append(make([]Info, 0, len(old)+1), old...), in)
	sort.Slice(next, func(i, j int) bool { return next[i].ID < next[j].ID })
	d.snap.Store(&next)
	return nil
}

// Remove unpublishes an agent.
func (d *Directory) Remove(id AgentID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := *d.snap.Load()
	next := make([]Info, 0, len(old))
	for _, o := range old {
		if o.ID != id {
			next = append(next, o)
		}
	}
	d.snap.Store(&next)
}
