package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/posix"
)

// A group is the gateways of one instance that share their listeners, as
// memcached's worker threads share its listening socket: one accept loop
// per listener hands each client to the next member in turn, and -c counts
// the whole group.
//
// Why several: a relay's goroutine does every kernel read and write of its
// clients, and those system calls are most of a request's cost. With one
// relay they all run on one processor while the load (or the cache agent)
// waits its turn; with one relay per processor they run side by side, and
// each relay carries its batch through the cache agent itself (see
// diggi.Held.Run), as each of memcached's workers does.
//
// The members share no memory: they talk by Diggi messages. A group is
// named after its leader, the gateway whose agent name is the group's
// (OptGroup); a gateway without OptGroup leads a group of its own. The
// leader owns the listeners, the -c slots and the accept loops. Every
// other member joins it at Start with a request carrying the options it
// must share (the leader refuses different ones, and the member's Start
// fails), and leaves it at Stop. The messages between them:
//
//	member -> leader  msgJoin (a request)  options; the reply accepts or refuses
//	leader -> member  msgClient            an accepted client's descriptor and origin
//	member -> leader  msgRelease           a client of the member ended: its -c slot is free
//	member -> leader  msgLeave (a request) take no more clients for this member
//
// Every msgClient ends in a msgRelease, whatever becomes of the client: a
// member that cannot adopt it (its relay failed to start, or it is
// stopping) closes the descriptor and releases at once. None is dropped:
// a member knows its leader and runs its relay before it asks to join
// (Start, join), and the leader sends clients only to members whose join
// it took, so a msgClient finds its member ready even when it arrives in
// the same drain as the join's answer, before the member's Start resumes.
// (Dropped, it left its client connected and never answered, and its -c
// slot taken, for good.) A member leaves by
// request, and the leader sends a member a client only while it is a
// member (checked under the baton that also handles msgLeave), so every
// msgClient reaches the member before the leave's answer does (per-sender
// FIFO) and is released while the member still runs.
//
// A client's slot is the leader's until the member's release message
// arrives; the member's slot object (slot) sends it exactly once.
// Descriptors cross only between agents of one process (the leader and
// its members are in one instance).
type leader struct {
	g          *Agent
	opts       string // the options every member must share
	listeners  []net.Listener
	slots      slots
	fastReject bool          // maxconns_fast
	done       chan struct{} // closed when the leader stops
	wg         sync.WaitGroup

	mu      sync.Mutex      // guards members and next: the accept loops read them, the leader's tasks change them
	members []diggi.AgentID // the leader first, then members in join order
	next    int
}

// Group message kinds, the first byte of a group message's payload.
const (
	msgJoin    = 'j'
	msgClient  = 'c'
	msgRelease = 'r'
	msgLeave   = 'l'
)

// joinTimeout bounds a member's wait for its leader's answer at Start.
const joinTimeout = 5 * time.Second

// groupOptions are the options members of a group must agree on: the
// listeners, the limits and the cache agent they relay to.
func groupOptions(o diggi.Options) string {
	return fmt.Sprintf("%s=%q %s=%q %s=%q", OptArgs, o.String(OptArgs, ""), OptListen, o.String(OptListen, ""), OptBackend, o.String(OptBackend, DefaultBackend))
}

// groupName is the group g belongs to; g leads it when it is g's name.
func (g *Agent) groupName() string {
	if name := g.ctx.Options().String(OptGroup, ""); name != "" {
		return name
	}
	return g.ctx.Name()
}

// leads reports whether g is its group's leader.
func (g *Agent) leads() bool { return g.groupName() == g.ctx.Name() }

// newLeader makes g its group's leader (at Init): members may join from
// then on; listen opens the listeners at Start, and clients are taken once
// startAccepting runs.
func newLeader(g *Agent) *leader {
	l := &leader{g: g, opts: groupOptions(g.ctx.Options()), fastReject: g.gs.fastReject, done: make(chan struct{}), members: []diggi.AgentID{g.ctx.ID()}}
	l.slots = slots{tokens: make(chan struct{}, g.gs.connLimit), done: l.done}
	return l
}

func (l *leader) listen(gs gatewaySettings) error {
	if gs.unixSocket != "" {
		ln, err := listenUnix(gs.unixSocket, fs.FileMode(gs.unixMask), gs.backlog)
		if err != nil {
			return err
		}
		l.listeners = append(l.listeners, ln)
	}
	for _, a := range gs.listen {
		ln, err := listenTCP(a, gs.backlog)
		if err != nil {
			l.closeListeners()
			return err
		}
		l.listeners = append(l.listeners, ln)
	}
	return nil
}

func (l *leader) startAccepting() {
	for _, ln := range l.listeners {
		l.wg.Add(1)
		go l.acceptLoop(ln)
	}
}

// stop closes the listeners and waits for the accept loops (without the
// baton: dispatch needs it).
func (l *leader) stop() {
	close(l.done)
	l.closeListeners()
	l.wg.Wait()
}

func (l *leader) closeListeners() {
	for _, ln := range l.listeners {
		ln.Close()
	}
}

func (l *leader) addrs() []net.Addr {
	out := make([]net.Addr, len(l.listeners))
	for i, ln := range l.listeners {
		out[i] = ln.Addr()
	}
	return out
}

// pick returns the member to take the next client.
func (l *leader) pick() diggi.AgentID {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.members[l.next%len(l.members)]
	l.next++
	return id
}

// dispatch gives an accepted client and its slot to the next member: to
// the leader's own relay, or by message to another member's (which owns
// the descriptor from then on). It runs on an accept loop.
func (l *leader) dispatch(nc net.Conn, s *slot) {
	id := l.pick()
	if id == l.g.ctx.ID() {
		l.g.handoff(nc, s)
		return
	}
	origin := originOf(nc)
	fd, err := detachFD(nc)
	if err != nil {
		l.g.ctx.Log().Warn("hand client to group member", "err", err)
		s.release()
		return
	}
	msg := appendClient(nil, fd, origin)
	sendErr := errLeft
	if err := l.g.ctx.Scheduler().Run(func() {
		// The member may have left since pick: it would not release.
		if l.isMember(id) {
			sendErr = l.g.ctx.Messages().Send(id, msg)
		}
	}); err != nil || sendErr != nil {
		closeFD(fd)
		s.release()
	}
}

// errLeft is dispatch's outcome for a member that left after pick.
var errLeft = errors.New("group member left")

func (l *leader) isMember(id diggi.AgentID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.members, id)
}

// receive handles a member's message to the leader (a task).
func (l *leader) receive(m *diggi.Message) {
	p := m.Payload()
	if len(p) == 0 || !l.g.localGateway(m.Src) {
		return
	}
	mm := l.g.ctx.Messages()
	switch p[0] {
	case msgJoin:
		if m.Type != diggi.TypeRequest {
			return
		}
		if opts := string(p[1:]); opts != l.opts {
			mm.ReplyError(m, fmt.Sprintf("options %s differ from the group's %s", opts, l.opts))
			return
		}
		l.mu.Lock()
		if !slices.Contains(l.members, m.Src) {
			l.members = append(l.members, m.Src)
		}
		l.mu.Unlock()
		mm.Reply(m, nil)
	case msgLeave:
		l.mu.Lock()
		l.members = slices.DeleteFunc(l.members, func(id diggi.AgentID) bool { return id == m.Src && id != l.g.ctx.ID() })
		l.mu.Unlock()
		if m.Type == diggi.TypeRequest {
			mm.Reply(m, nil) // after every msgClient this member gets
		}
	case msgRelease:
		l.slots.put()
	}
}

// localGateway reports whether id is a gateway of g's own instance.
func (g *Agent) localGateway(id diggi.AgentID) bool {
	in, ok := g.ctx.Directory().ByID(id)
	return ok && in.Kind == Kind && in.Instance == g.ctx.Info().Instance
}

// join makes g a member of the group its leader leads (at Start): a
// request to the leader, which checks the shared options.
func (g *Agent) join() error {
	name := g.groupName()
	info, ok := g.ctx.Directory().Lookup(name)
	if !ok || info.Kind != Kind || info.Instance != g.ctx.Info().Instance {
		return fmt.Errorf("%w: group %q: no gateway agent named %q in this instance: a group is named after the gateway that leads it (owns its listeners)", ErrOptions, name, name)
	}
	// The leader adds a member when it takes the join, before it answers,
	// and its accept loops may hand the member a client at once: that
	// msgClient can be delivered in the same drain as the answer, before
	// Call returns here. So the member knows its leader (Receive takes
	// msgClient only from it) and its relay runs (Start) before it asks.
	g.leaderID = info.ID
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	if _, err := g.ctx.Messages().Call(ctx, info.ID, append([]byte{msgJoin}, groupOptions(g.ctx.Options())...)); err != nil {
		return fmt.Errorf("%w: group %q: %w", ErrOptions, name, err)
	}
	return nil
}

// leave tells the leader to send no more clients (a member's Stop, or a
// Start that failed after join), and waits for its answer: the clients the
// leader sent before it arrive first, and receiveClient gives their slots
// back. A leader already stopped answers with an error, or not at all.
func (g *Agent) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	if _, err := g.ctx.Messages().Call(ctx, g.leaderID, []byte{msgLeave}); err != nil {
		g.ctx.Log().Debug("leave group leader", "err", err)
	}
}

// receiveClient adopts a client the leader sent (a task). The slot is the
// leader's: this member gives it back by message, once. The epoll relay
// takes the descriptor as it is; the goroutine relay needs a net.Conn.
func (g *Agent) receiveClient(p []byte) {
	fd, origin, ok := parseClient(p)
	if !ok {
		return
	}
	s := newSlot(func() { g.ctx.Messages().Send(g.leaderID, []byte{msgRelease}) })
	switch {
	case g.stopping() || g.handoff == nil: // stopping, or no relay started
		closeFD(fd)
		s.release()
	case g.epoll != nil:
		g.epoll.adopt(fd, origin, s)
	default:
		nc, err := attachFD(fd)
		if err != nil {
			g.ctx.Log().Warn("client from group leader", "err", err)
			s.release()
			return
		}
		g.handoff(nc, s)
	}
}

// appendClient encodes a msgClient: the descriptor, then the origin's two
// names, each after its length.
func appendClient(b []byte, fd int, o posix.Origin) []byte {
	b = append(b, msgClient)
	b = binary.BigEndian.AppendUint32(b, uint32(fd))
	for _, name := range []string{o.Peer, o.Local} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
	}
	return b
}

func parseClient(p []byte) (fd int, o posix.Origin, ok bool) {
	if len(p) < 5 || p[0] != msgClient {
		return 0, o, false
	}
	fd = int(binary.BigEndian.Uint32(p[1:]))
	p = p[5:]
	var names [2]string
	for i := range names {
		if len(p) < 2 || len(p) < 2+int(binary.BigEndian.Uint16(p)) {
			return 0, o, false
		}
		n := int(binary.BigEndian.Uint16(p))
		names[i], p = string(p[2:2+n]), p[2+n:]
	}
	return fd, posix.Origin{Peer: names[0], Local: names[1]}, len(p) == 0
}
