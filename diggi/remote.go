package diggi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file is the runtime's one hook for inter-instance links (§3.3): an
// agent of another instance is a RemoteAgent, an endpoint in the mover's
// routing table whose inbound queue a link drains instead of an agent, and
// messages arriving from a link enter through an Import, an endpoint that
// is a message source for the mover exactly like a local agent's outbound
// queue. Routing, per-sender order, back-pressure, the Router and the
// QueueTap therefore apply to remote traffic unchanged; the link package
// only moves bytes between a RemoteAgent on one side and an Import on the
// other.

// ErrLinkDown is the reason in the bounce a request gets when the link to
// its destination's instance is down.
var ErrLinkDown = errors.New("diggi: link to the destination's instance is down")

// RemoteAgent stands for an agent of another instance. Local agents send
// to it by its AgentID as to any agent; the mover queues those messages in
// its inbound queue (bounded like any agent's: a full one holds the
// senders back), and the link that carries them pops them with Pop.
//
// Exactly one goroutine at a time may call Pop and Idle (the link's
// writer, or whoever drains it while the link is down).
type RemoteAgent struct {
	in   *Instance
	ep   *endpoint
	info Info
}

// AttachRemote publishes an agent of another instance in the directory and
// the routing table. wake is called (from any goroutine, possibly under a
// sender's baton: it must not block) when the agent's queue gets a message
// while nobody is draining it; whoever is woken pops until Pop returns nil,
// then calls Idle. up says whether delivery is open from the start (see
// SetUp); the agent is routable before it is listed in the directory, so
// nobody who found it there sees it bounce for being new.
func (in *Instance) AttachRemote(info Info, wake func(), up bool) (*RemoteAgent, error) {
	if info.ID.Instance() == in.id || info.ID.Local() == 0 {
		return nil, fmt.Errorf("attach remote agent %s: not an agent of another instance", info.ID)
	}
	qs := in.cfg.QueueSize
	if qs == 0 {
		qs = DefaultQueueSize
	}
	ep := newEndpoint(info.ID, in.mover, qs)
	ep.drain = wake
	// Nobody can run a remote agent's drain on the delivering goroutine
	// (Held.Deliver): it is always scheduled, that is, woken.
	ep.help = func(*delivery) ([]*endpoint, bool) { return nil, false }
	ep.gone.Store(!up)
	if err := in.mover.attach(ep); err != nil {
		return nil, err
	}
	if err := in.dir.Add(info); err != nil {
		in.mover.detach(info.ID)
		return nil, err
	}
	return &RemoteAgent{in: in, ep: ep, info: info}, nil
}

// Info returns the agent's directory entry.
func (r *RemoteAgent) Info() Info { return r.info }

// SetUp opens (true) or closes (false) delivery to the agent. While it is
// down the mover bounces what is sent to it (a request gets an error
// response); messages already queued are the drainer's to Bounce.
func (r *RemoteAgent) SetUp(up bool) { r.ep.gone.Store(!up) }

// Up reports whether delivery is open.
func (r *RemoteAgent) Up() bool { return !r.ep.gone.Load() }

// Pop takes the next queued message, or nil. It makes room for held-back
// senders as an agent's drain does.
func (r *RemoteAgent) Pop() *Message { return r.ep.popIn() }

// Queued is a snapshot of the number of queued messages.
func (r *RemoteAgent) Queued() int { return r.ep.in.len() }

// Idle tells the runtime the drainer stopped popping because Pop returned
// nil. It reports true if a message arrived meanwhile: the caller is then
// still the drainer and must pop again (no wake-up comes for it).
func (r *RemoteAgent) Idle() bool {
	r.ep.armed.Store(false)
	return r.ep.in.len() > 0 && r.ep.armed.CompareAndSwap(false, true)
}

// Detach removes the agent from the routing table and the directory; later
// sends to its id fail as to an unknown agent. The caller bounces what it
// still holds.
func (r *RemoteAgent) Detach() {
	r.ep.gone.Store(true)
	r.in.mover.detach(r.ep.id)
	r.in.dir.Remove(r.ep.id)
}

// Bounce gives up on a message popped from a RemoteAgent (or never sent):
// a request is answered with the runtime's error response, as the mover
// answers one for a vanished agent; anything else is dropped and counted.
// Safe from any goroutine.
func (in *Instance) Bounce(msg *Message, why error) {
	src := in.mover.lookup(msg.Src)
	if msg.Type != TypeRequest || src == nil || src.gone.Load() {
		in.mover.dropped.Add(1)
		Release(msg)
		return
	}
	in.mover.bounced.Add(1)
	text := bounceText(msg, why)
	r := NewMessage(len(text))
	copy(r.buf, text)
	r.Header = Header{Src: MakeAgentID(msg.Src.Instance(), 0), Dst: msg.Src, Type: TypeResponse, Flags: FlagError, Session: msg.Session, Len: uint32(len(text))}
	Release(msg)
	src.pushIn(r)
	src.notify()
}

// Import is where one link's messages for one local agent enter the
// runtime: a message source for the mover like an agent's outbound queue,
// holding at most its capacity (the link's credit window for that agent).
// A slow agent fills only its own Import, so other agents sharing the link
// keep receiving. Exactly one goroutine may Push (the link's reader).
type Import struct {
	ep *endpoint
}

// NewImport returns an Import that holds up to window messages (rounded up
// to a power of two: see Capacity).
func (in *Instance) NewImport(window int) *Import {
	return &Import{ep: newEndpoint(NoAgent, in.mover, window)}
}

// Capacity is the number of messages the Import holds.
func (im *Import) Capacity() int { return im.ep.out.capacity() }

// Push hands m to the mover, which delivers it to m.Dst through the normal
// path (Router, QueueTap, the destination's bounded inbound queue). false
// means the Import is full: the sender overran its credit.
func (im *Import) Push(m *Message) bool { return im.ep.pushOut(m) }

// Consumed counts the messages the mover has taken from the Import since
// it was made: credit to return to the sender.
func (im *Import) Consumed() uint64 { return im.ep.out.head.Load() }

// SpaceWait returns a channel closed once the mover takes a message from
// the Import after this call.
func (im *Import) SpaceWait() <-chan struct{} { return im.ep.spaceWait() }

// ConsumedWait returns a channel closed once Consumed reaches n, without a
// wake-up for every message before (a link returns credit in batches).
// One goroutine at a time may wait; it must check Consumed after the call,
// since the count may have reached n before it.
func (im *Import) ConsumedWait(n uint64) <-chan struct{} { return im.ep.consumedWait(n) }

// detach removes an endpoint from the routing table (copy on write, like
// attach).
func (m *mover) detach(id AgentID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.table.Load()
	if _, ok := old[id]; !ok {
		return
	}
	next := make(map[AgentID]*endpoint, len(old))
	for k, v := range old {
		if k != id {
			next[k] = v
		}
	}
	m.table.Store(&next)
}

// A link that breaks loses what it carried without telling either end:
// messages of a socket stream, a channel's handshake message, sealed
// messages whose sequence numbers the receiver never sees. So when a link
// session ends, the runtime tells every local agent with a TypeLinkLost
// message from its agent-agent (local 0), whose payload is the peer
// instance's id (4 bytes, big endian). The manager then forgets its
// channels to that instance's agents (a handshake in progress fails its
// waiters with ErrLinkDown; an established channel re-handshakes on the
// next message, which waits in the hold until then, so nothing is sealed
// under a sequence the peer will refuse), and hands the message to a
// subscribed handler (diggi/posix resets its sockets with that instance).
// Only the local runtime can send it: a link refuses messages that claim
// to come from this instance's agent-agent, and a local agent's messages
// carry its own id. A trusted agent does not have to believe it: the
// runtime that sends it could as well drop the messages, and a false
// notice costs a new attested handshake (fresh keys and sequences), never
// a key or a replay.

// linkLostLen is the TypeLinkLost payload: the peer's InstanceID.
const linkLostLen = 4

func (in *Instance) linkLostMessage(dst AgentID, peer InstanceID) *Message {
	m := NewMessage(linkLostLen)
	binary.BigEndian.PutUint32(m.buf, uint32(peer))
	m.Header = Header{Src: MakeAgentID(in.id, 0), Dst: dst, Type: TypeLinkLost, Len: linkLostLen}
	return m
}

// LinkLost tells the local agents that the link to instance peer broke
// (see TypeLinkLost). For an agent the link delivered to, via returns the
// Import that carried its messages: the notice then goes through that
// Import, behind them, so an agent never forgets a channel before opening
// what arrived under it. via may return nil (and be nil). An Import that
// is full takes its notice as soon as its agent makes room, or never if
// done closes first.
func (in *Instance) LinkLost(peer InstanceID, via func(AgentID) *Import, done <-chan struct{}) {
	for _, a := range in.agents {
		id := a.ctx.info.ID
		var im *Import
		if via != nil {
			im = via(id)
		}
		m := in.linkLostMessage(id, peer)
		if im == nil {
			in.mover.inject(m)
			continue
		}
		if im.Push(m) {
			continue
		}
		go func() {
			for !im.Push(m) {
				ch := im.SpaceWait()
				if im.Push(m) {
					return
				}
				select {
				case <-ch:
				case <-done:
					Release(m)
					return
				}
			}
		}()
	}
}

// LinkLostPeer returns the instance a TypeLinkLost message names; false
// if m is not the local runtime's notice.
func LinkLostPeer(m *Message) (InstanceID, bool) {
	if m.Type != TypeLinkLost || m.Src.Local() != 0 || m.Src.Instance() != m.Dst.Instance() || len(m.Payload()) != linkLostLen {
		return 0, false
	}
	return InstanceID(binary.BigEndian.Uint32(m.Payload())), true
}
