package gateway

import (
	"fmt"
	"io/fs"
	"net"
	"sync"
	"sync/atomic"

	"github.com/securecached/securecached/diggi"
)

// A group is the gateways of one instance that share their listeners, as
// memcached's worker threads share its listening socket: one accept loop
// per listener hands each client to the next member in turn, and -c counts
// the whole group. A gateway without OptGroup is a group of its own.
//
// Why several: a relay's goroutine does every kernel read and write of its
// clients, and those system calls are most of a request's cost. With one
// relay they all run on one processor while the load (or the cache agent)
// waits its turn; with one relay per processor they run side by side, and
// each relay carries its batch through the cache agent itself (see
// diggi.Held.Complete), as each of memcached's workers does.
type group struct {
	key        groupKey
	opts       string // the options every member must share
	listeners  []net.Listener
	slots      chan struct{} // one token per allowed connection (-c)
	fastReject bool          // maxconns_fast
	done       chan struct{} // closed when the last member leaves
	wg         sync.WaitGroup

	mu      sync.Mutex
	members []*Agent // started members, which take clients
	next    int
	joined  int // members that joined and have not left

	size      atomic.Int32 // members joined: more than one means Complete
	conns     atomic.Int64
	rejected  atomic.Uint64
	idleKicks atomic.Uint64 // clients closed at idle_timeout
	total     atomic.Uint64
}

type groupKey struct {
	dir  *diggi.Directory // one instance
	name string
}

var groups = struct {
	sync.Mutex
	m map[groupKey]*group
}{m: map[groupKey]*group{}}

// groupOptions are the options members of a group must agree on: the
// listeners, the limits and the cache agent they relay to.
func groupOptions(o diggi.Options) string {
	return fmt.Sprintf("%s=%q %s=%q %s=%q", OptArgs, o.String(OptArgs, ""), OptListen, o.String(OptListen, ""), OptBackend, o.String(OptBackend, DefaultBackend))
}

// joinGroup adds g to its group, opening the listeners if g is the first
// member; g takes no clients until start.
func joinGroup(g *Agent) (*group, error) {
	name := g.ctx.Options().String(OptGroup, "")
	opts := groupOptions(g.ctx.Options())
	groups.Lock()
	defer groups.Unlock()
	key := groupKey{dir: g.ctx.Directory(), name: name}
	if gr, ok := groups.m[key]; ok && name != "" {
		if gr.opts != opts {
			return nil, fmt.Errorf("%w: group %q: options %s differ from the group's %s", ErrOptions, name, opts, gr.opts)
		}
		gr.mu.Lock()
		gr.joined++
		gr.mu.Unlock()
		gr.size.Add(1)
		return gr, nil
	}
	gr := &group{key: key, opts: opts, slots: make(chan struct{}, g.gs.connLimit), fastReject: g.gs.fastReject, done: make(chan struct{}), joined: 1}
	gr.size.Store(1)
	if err := gr.listen(g.gs); err != nil {
		return nil, err
	}
	if name != "" {
		groups.m[key] = gr
	}
	return gr, nil
}

func (gr *group) listen(gs gatewaySettings) error {
	if gs.unixSocket != "" {
		l, err := listenUnix(gs.unixSocket, fs.FileMode(gs.unixMask), gs.backlog)
		if err != nil {
			return err
		}
		gr.listeners = append(gr.listeners, l)
	}
	for _, a := range gs.listen {
		l, err := listenTCP(a, gs.backlog)
		if err != nil {
			gr.closeListeners()
			return err
		}
		gr.listeners = append(gr.listeners, l)
	}
	return nil
}

// start makes g a member that takes clients; the first one starts the
// accept loops. It reports whether g was the first (which announces the
// listeners).
func (gr *group) start(g *Agent) (first bool) {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	gr.members = append(gr.members, g)
	if len(gr.members) > 1 {
		return false
	}
	for _, l := range gr.listeners {
		gr.wg.Add(1)
		go gr.acceptLoop(g.ctx, l)
	}
	return true
}

// pick returns the member to take the next client, or nil if none is left.
func (gr *group) pick() *Agent {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	if len(gr.members) == 0 {
		return nil
	}
	g := gr.members[gr.next%len(gr.members)]
	gr.next++
	return g
}

// leave removes g; the last member to leave closes the listeners and waits
// for the accept loops.
func (gr *group) leave(g *Agent) {
	// Under the registry's lock, as joinGroup counts a member in: a
	// gateway starting meanwhile either joins before the last one leaves
	// or finds no group and opens the listeners anew.
	groups.Lock()
	gr.mu.Lock()
	for i, m := range gr.members {
		if m == g {
			gr.members = append(gr.members[:i], gr.members[i+1:]...)
			break
		}
	}
	gr.joined--
	last := gr.joined == 0
	gr.mu.Unlock()
	gr.size.Add(-1)
	if last && groups.m[gr.key] == gr {
		delete(groups.m, gr.key)
	}
	groups.Unlock()
	if !last {
		return
	}
	close(gr.done)
	gr.closeListeners()
	gr.wg.Wait()
}

func (gr *group) closeListeners() {
	for _, l := range gr.listeners {
		l.Close()
	}
}

func (gr *group) addrs() []net.Addr {
	out := make([]net.Addr, len(gr.listeners))
	for i, l := range gr.listeners {
		out[i] = l.Addr()
	}
	return out
}

func (gr *group) closed() bool {
	select {
	case <-gr.done:
		return true
	default:
		return false
	}
}
