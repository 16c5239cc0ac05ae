package diggi

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
)

// ErrWouldBlock is returned by non-blocking operations that cannot proceed
// now (a full queue); the POSIX layer maps it to EAGAIN.
var ErrWouldBlock = errors.New("diggi: operation would block")

// ErrTooLarge reports a payload above MaxPayload.
var ErrTooLarge = errors.New("diggi: payload too large")

// drainBatch bounds how many messages one drain task dispatches before it
// lets the agent's other tasks run.
const drainBatch = 128

// Handler receives a delivered message. The message is transient: it is
// recycled when the handler returns, so copy what you keep (§4.6), or
// keep the message itself (Manager.Keep). A handler never Releases the
// message it is lent: the dispatch does, and a message released twice may
// already belong to someone else by then, so no check after the fact can
// be sound.
type Handler func(m *Message)

// Manager is an agent's message manager (§3.3): it sends through the
// agent's outbound queue, dispatches what arrives in its inbound queue by
// type, runs request/response sessions, applies the pair's Channel, and
// delivers timer ticks. Every method must be called under the agent's
// baton (from agent code, or inside Scheduler.Run).
type Manager struct {
	self     Info
	ep       *endpoint
	sched    *Scheduler
	dir      *Directory
	channels ChannelFactory
	log      *slog.Logger
	runtime  AgentID // this instance's agent-agent (local 0)

	handlers [256]Handler
	fallback Handler
	peers    map[AgentID]*peer
	last     *peer

	nextSession uint64
	pending     map[uint64]func(*Message, error)

	timers timerSet

	sendQ  []*parker            // senders waiting for outbound room, in order
	roomFn func()               // OnRoom: runs when a refused non-blocking sender may go on
	lostFn func(AgentID, error) // OnChannelLost
	// holdRefused: a non-blocking send was refused by a handshake's full
	// hold, whose room comes at the handshake's end, not from the queue.
	holdRefused bool

	freeCalls []*call // recycled Call states

	// lent are the messages dispatch has lent to handlers that have not
	// returned (more than one while a handler blocks and the drain goes
	// on elsewhere); Keep accepts only these.
	lent []*Message

	holding bool        // see Hold
	held    []*endpoint // destinations with un-notified deliveries
	helping *delivery   // the Run running this agent's tasks, if any

	drainFn  func()
	drainGen uint64
	draining bool
	stopped  bool

	sent, received, rejected atomic.Uint64
}

// peer is per-correspondent state: the outgoing sequence number and the
// pair's channel.
type peer struct {
	id     AgentID
	seqOut uint64
	ch     Channel
	chErr  error
	chSet  bool

	// While the channel's handshake runs (hs != nil) and while the held
	// messages are being sent afterwards (flushing), new messages for the
	// peer wait in held, in order.
	hs       Handshaker
	flushing bool
	held     []*Message
	heldWait chan struct{} // closed when the handshake ends
	hsStop   func()        // cancels the handshake's timeout
}

func newManager(self Info, ep *endpoint, s *Scheduler, dir *Directory, cf ChannelFactory, log *slog.Logger) *Manager {
	mm := &Manager{
		self:     self,
		ep:       ep,
		sched:    s,
		dir:      dir,
		channels: cf,
		log:      log,
		runtime:  MakeAgentID(self.ID.Instance(), 0),
		peers:    map[AgentID]*peer{},
		pending:  map[uint64]func(*Message, error){},
	}
	mm.timers.init(mm)
	mm.drainFn = mm.drain
	ep.room = mm.scheduleRoom
	ep.drain = mm.scheduleDrain
	s.onBlock = mm.beforeBlock
	ep.hold = mm.holdDelivery
	ep.help = mm.help
	return mm
}

// ID returns the agent's id.
func (mm *Manager) ID() AgentID { return mm.self.ID }

// Subscribe routes messages of type t to h (nil removes the subscription).
// Unsubscribed types go to the agent's Receive. Responses and timer ticks
// are dispatched by the manager itself and cannot be subscribed to.
func (mm *Manager) Subscribe(t MsgType, h Handler) { mm.handlers[t] = h }

// Send sends a regular message; payload is copied.
func (mm *Manager) Send(dst AgentID, payload []byte) error {
	return mm.Post(dst, TypeRegular, 0, payload)
}

// Post sends payload (copied) to dst as a message of type t in a session.
// When the outbound queue is full it waits (releasing the baton) until the
// router makes room: back-pressure, never a dropped message. The copy is
// made before any wait, so other tasks may reuse payload meanwhile.
func (mm *Manager) Post(dst AgentID, t MsgType, session uint64, payload []byte) error {
	return mm.post(dst, t, 0, session, nil, payload, true)
}

// TryPost is Post that fails with ErrWouldBlock instead of waiting.
func (mm *Manager) TryPost(dst AgentID, t MsgType, session uint64, payload []byte) error {
	return mm.post(dst, t, 0, session, nil, payload, false)
}

// TryPostPrefixed is TryPost of the payload prefix||payload, copied (or
// sealed) from the two slices where they lie: a framing header and the
// bytes it frames need not be joined first.
func (mm *Manager) TryPostPrefixed(dst AgentID, t MsgType, session uint64, prefix, payload []byte) error {
	return mm.post(dst, t, 0, session, prefix, payload, false)
}

// CanPost reports whether the outbound queue has room now.
func (mm *Manager) CanPost() bool { return mm.canPushNow() }

// Room for non-blocking senders. The wake-up invariant, enforced here and
// in endpoint.spaceMade: a sender refused for lack of room (TryPost's
// ErrWouldBlock, or CanPost false) that calls AwaitRoom has the OnRoom
// task run exactly once, as a task of the agent, after the refusal, and no
// earlier than the first moment at which CanPost may be true again. Room
// appears in three ways, and each one checks the arming flag:
//
//   - the mover takes a message from the outbound queue (spaceMade);
//   - the last blocking sender waiting in line leaves it (leaveSendQ);
//   - a peer's channel handshake ends, so its held messages go out.
//
// The flag (endpoint.roomArmed) is swapped, never loaded and then stored,
// so the arming task and the mover cannot both schedule the task, and the
// arming side checks for room after setting it, so a room that appeared
// between the refusal and the arming is not missed. The task may find no
// room after all (another sender took it); its handler then simply arms
// again. Spurious wake-ups are allowed; lost ones are not.

// OnRoom sets the task AwaitRoom schedules (the POSIX layer's); call it
// once, under the baton, before any AwaitRoom.
func (mm *Manager) OnRoom(fn func()) { mm.roomFn = fn }

// OnChannelLost sets the function the manager calls, under the baton,
// when it loses the channel to a peer that can still be reached: the
// channel's handshake failed (timed out, or the peer's message refused),
// the peer started a new one, or a failed Open broke it; and when a sealed
// message is dropped because a new handshake runs. Messages to or from the
// peer may then have been dropped unseen: held for the handshake and never
// sealed, or sealed under a channel the other side no longer has. A stream
// layer must end its connections with the peer there (the POSIX layer
// resets them), because a later message, under the next channel, would
// land behind the gap. The function may send to the peer: the manager
// calls it once its state for the peer is final, and only from a task of
// its own (a timer, or the drain delivering a message), never inside a
// send. A lost link is told by TypeLinkLost instead, and a stopping agent
// by its Stop. Call it once, from Init.
func (mm *Manager) OnChannelLost(fn func(peer AgentID, err error)) { mm.lostFn = fn }

// channelLost reports a lost channel to the OnChannelLost function.
func (mm *Manager) channelLost(peer AgentID, err error) {
	if mm.lostFn != nil {
		mm.lostFn(peer, err)
	}
}

// AwaitRoom arranges for the OnRoom task to run once the outbound queue
// may have room again. Call it under the baton after a refusal; calling it
// again before the task has run does nothing more.
func (mm *Manager) AwaitRoom() {
	ep := mm.ep
	if mm.roomFn == nil || ep.roomArmed.Load() {
		return
	}
	ep.roomArmed.Store(true)
	ep.senderWaiting.Store(true)
	if mm.canPushNow() && !mm.holdRefused {
		mm.roomMade()
	}
}

// roomMade schedules the OnRoom task if a sender asked for it.
func (mm *Manager) roomMade() {
	if mm.ep.roomArmed.Load() && mm.ep.roomArmed.Swap(false) {
		mm.scheduleRoom()
	}
}

func (mm *Manager) scheduleRoom() {
	if mm.sched.Schedule(mm.roomFn) != nil {
		return // stopped: nobody will write again
	}
}

func (mm *Manager) post(dst AgentID, t MsgType, flags Flags, session uint64, prefix, payload []byte, block bool) error {
	if mm.stopped {
		return fmt.Errorf("send from %s: %w", mm.self, ErrStopped)
	}
	if n := len(prefix) + len(payload); n > MaxPayload {
		return fmt.Errorf("send %d bytes to %s: %w", n, dst, ErrTooLarge)
	}
	// Decide "would block" before a sequence number is spent: a channel
	// must never see a gap caused by a send that did not happen.
	if !block && !mm.canPushNow() {
		return ErrWouldBlock
	}
	p, err := mm.peer(dst)
	if err != nil {
		return err
	}
	if p.hs != nil || p.flushing {
		return mm.hold(p, t, flags, session, prefix, payload, block)
	}
	return mm.emit(p, t, flags, session, prefix, payload, block)
}

// canPushNow reports whether a message would enter the outbound queue
// without waiting.
func (mm *Manager) canPushNow() bool { return len(mm.sendQ) == 0 && !mm.ep.out.full() }

// emit seals (if the pair has a channel) and queues one message whose
// payload is prefix||payload.
func (mm *Manager) emit(p *peer, t MsgType, flags Flags, session uint64, prefix, payload []byte, block bool) error {
	// The header is built in the message itself: a local passed to Seal
	// would escape and cost an allocation per message.
	var m *Message
	n := len(prefix) + len(payload)
	if p.ch == nil {
		m = NewMessage(n)
		copy(m.buf[copy(m.buf, prefix):], payload)
		m.Header = Header{Src: mm.self.ID, Dst: p.id, Type: t, Flags: flags, Session: session, Seq: p.seqOut + 1, Len: uint32(n)}
	} else {
		m = NewMessage(n + p.ch.Overhead())
		m.Header = Header{Src: mm.self.ID, Dst: p.id, Type: t, Session: session, Seq: p.seqOut + 1}
		sealed, err := p.ch.Seal(m.buf[:0], &m.Header, prefix, payload)
		if err != nil {
			Release(m)
			return fmt.Errorf("seal message to %s: %w", p.id, err)
		}
		m.buf = sealed
		m.Flags = flags | FlagSealed
		m.Len = uint32(len(sealed))
	}
	p.seqOut++
	return mm.enqueue(m, block)
}

// enqueue hands a finished message to the outbound queue. Senders that
// must wait for room queue up in FIFO order (sendQ), so messages leave in
// the order their sequence numbers were assigned even when a task and a
// handler of the same agent both wait.
func (mm *Manager) enqueue(m *Message, block bool) error {
	ep := mm.ep
	if len(mm.sendQ) == 0 && (ep.tryDirect(m) || ep.pushOut(m)) {
		mm.sent.Add(1)
		return nil
	}
	if !block {
		Release(m)
		return ErrWouldBlock
	}
	pk := &parker{}
	mm.sendQ = append(mm.sendQ, pk)
	if len(mm.sendQ) > 1 && !mm.sched.park(pk, nil) {
		return mm.leaveSendQ(pk, m)
	}
	for !ep.pushOut(m) {
		space := ep.spaceWait()
		if !ep.out.full() {
			continue
		}
		stopped := false
		mm.sched.Block(func() {
			select {
			case <-space:
			case <-mm.sched.Done():
				stopped = true
			}
		})
		if stopped {
			return mm.leaveSendQ(pk, m)
		}
	}
	mm.leaveSendQ(pk, nil)
	mm.sent.Add(1)
	return nil
}

// leaveSendQ removes pk from the line (waking the next sender if pk was
// first) and, if m is not nil, gives up on m because the agent stopped.
func (mm *Manager) leaveSendQ(pk *parker, m *Message) error {
	for i, q := range mm.sendQ {
		if q == pk {
			mm.sendQ = append(mm.sendQ[:i], mm.sendQ[i+1:]...)
			if i == 0 && len(mm.sendQ) > 0 {
				mm.sched.unpark(mm.sendQ[0])
			}
			if len(mm.sendQ) == 0 && !mm.ep.out.full() {
				mm.roomMade()
			}
			break
		}
	}
	if m == nil {
		return nil
	}
	Release(m)
	return fmt.Errorf("send from %s: %w", mm.self, ErrStopped)
}

// peer returns the state for a correspondent, checking that it exists and
// setting up its channel on first use.
func (mm *Manager) peer(id AgentID) (*peer, error) {
	if p := mm.last; p != nil && p.id == id {
		return p, p.chErr
	}
	p := mm.peers[id]
	if p == nil {
		// Agents of other instances are in the table too (AttachRemote).
		if mm.ep.mover.lookup(id) == nil {
			return nil, fmt.Errorf("send from %s to %s: %w", mm.self, id, ErrUnknownAgent)
		}
		p = &peer{id: id}
		mm.peers[id] = p
	}
	if !p.chSet && mm.channels != nil && id.Local() != 0 {
		info, ok := mm.dir.ByID(id)
		if !ok {
			info = Info{ID: id}
		}
		p.chSet = true
		p.ch, p.chErr = mm.channels(mm.self, info)
		if p.chErr != nil {
			p.chErr = fmt.Errorf("channel %s to %s: %w", mm.self, info, p.chErr)
		} else if hs, ok := p.ch.(Handshaker); ok {
			if e := mm.ep.mover.lookup(id); id.Instance() != mm.self.ID.Instance() && e != nil && e.gone.Load() {
				// The link to the agent's instance is down: the mover
				// would drop the opening, and the senders would wait for
				// the handshake's timeout. Fail now; the next message
				// tries again.
				delete(mm.peers, id)
				return nil, fmt.Errorf("channel %s to %s: %w", mm.self, info, ErrLinkDown)
			}
			mm.beginHandshake(p, hs)
		}
	}
	p.chSet = true
	mm.last = p
	return p, p.chErr
}

// drain is the agent's delivery task: it dispatches inbound messages until
// the queue is empty or a batch is done. If a handler blocks, handOffDrain
// passes the drain role to a fresh task so delivery goes on (two agents
// whose handlers send to each other cannot deadlock on full queues).
func (mm *Manager) drain() {
	gen := mm.drainGen
	mm.draining = true
	for n := 0; n < drainBatch; n++ {
		m := mm.ep.popIn()
		if m == nil {
			mm.draining = false
			if !mm.ep.disarm() {
				return
			}
			mm.draining = true
			continue
		}
		mm.dispatch(m)
		if mm.drainGen != gen {
			return // a blocked handler handed the drain on
		}
	}
	mm.draining = false
	mm.scheduleDrain()
}

// scheduleDrain queues the drain task for the holder of the drain token;
// a stopped agent keeps the token, and nothing is delivered to it again.
func (mm *Manager) scheduleDrain() { _ = mm.sched.Schedule(mm.drainFn) }

// beforeBlock runs under the baton when any task is about to block.
func (mm *Manager) beforeBlock() {
	mm.stopHolding()
	mm.handOffDrain()
}

// handOffDrain hands the drain role on before a task blocks.
func (mm *Manager) handOffDrain() {
	if !mm.draining {
		return
	}
	mm.draining = false
	mm.drainGen++
	mm.scheduleDrain()
}

// Keep lets the handler that m is lent to keep its payload past the
// call: it returns a message the caller owns, with m's header and m's
// buffer (payload slices taken from m stay valid), and must Release
// exactly once; m itself keeps no buffer and is recycled by the dispatch
// as usual. A reader that consumes a large payload later (diggi/posix's
// receive queue) so saves copying it. The invariant, enforced here, in
// dispatch and in Release: a buffer has one owner at a time; only the
// handler m is lent to can take it, during that call, once; dispatch
// releases only m, never the kept message. Keep panics otherwise.
func (mm *Manager) Keep(m *Message) *Message {
	if m.buf == nil || !mm.isLent(m) {
		panic("diggi: Keep of a message not lent to this handler, or kept twice")
	}
	k := &Message{Header: m.Header, buf: m.buf}
	m.buf, m.Len = nil, 0
	return k
}

func (mm *Manager) isLent(m *Message) bool {
	for _, l := range mm.lent {
		if l == m {
			return true
		}
	}
	return false
}

// unlend ends m's loan to its handler.
func (mm *Manager) unlend(m *Message) {
	for i := len(mm.lent) - 1; i >= 0; i-- {
		if mm.lent[i] == m {
			mm.lent = append(mm.lent[:i], mm.lent[i+1:]...)
			return
		}
	}
}

// dispatch lends one message to its handler and recycles it afterwards
// (Keep may have taken its buffer). A panicking handler is logged and does
// not stop delivery.
func (mm *Manager) dispatch(m *Message) {
	mm.lent = append(mm.lent, m)
	defer func() {
		if r := recover(); r != nil {
			mm.log.Error("message handler panicked", "from", m.Src, "type", m.Type, "panic", r, "stack", string(debug.Stack()))
		}
		mm.unlend(m)
		Release(m)
	}()
	mm.received.Add(1)
	if mm.stopped {
		mm.refuse(m, ErrStopped)
		return
	}
	if m.Type == TypeHandshake {
		mm.handshake(m)
		return
	}
	if !mm.open(m) {
		mm.rejected.Add(1)
		return
	}
	switch m.Type {
	case TypeResponse:
		cb, ok := mm.pending[m.Session]
		if !ok {
			mm.log.Debug("response for unknown session", "from", m.Src, "session", m.Session)
			return
		}
		delete(mm.pending, m.Session)
		if m.Flags&FlagError != 0 {
			cb(nil, &RemoteError{From: m.Src, Text: string(m.Payload())})
			return
		}
		cb(m, nil)
	case TypeTimer:
		mm.timers.fire(m)
	case TypeLinkLost:
		inst, ok := LinkLostPeer(m)
		if !ok || m.Src != mm.runtime {
			mm.rejected.Add(1)
			return
		}
		mm.linkLost(inst)
		if h := mm.handlers[TypeLinkLost]; h != nil {
			h(m)
		}
	default:
		h := mm.handlers[m.Type]
		if h == nil {
			h = mm.fallback
		}
		if h != nil {
			h(m)
		}
	}
}

// open checks and removes the pair's channel protection in place. Only the
// runtime's own messages and error responses may arrive unsealed from a
// peer that has a channel.
func (mm *Manager) open(m *Message) bool {
	sealed := m.Flags&FlagSealed != 0
	if m.Src.Local() == 0 {
		return !sealed
	}
	p, err := mm.peerIn(m.Src)
	if err != nil {
		mm.log.Warn("message dropped: no channel", "from", m.Src, "type", m.Type, "err", err)
		return false
	}
	if p.ch == nil {
		if sealed {
			mm.log.Warn("message dropped: sealed but no channel", "from", m.Src, "type", m.Type)
		}
		return !sealed
	}
	if !sealed {
		if m.Type == TypeResponse && m.Flags&FlagError != 0 {
			return true
		}
		mm.log.Warn("message dropped: plaintext on a sealed channel", "from", m.Src, "type", m.Type)
		return false
	}
	if p.hs != nil {
		// Sealed under a channel the peer had before this handshake
		// began: lost, as its stream's next message will not be.
		mm.log.Warn("message dropped: channel handshake not finished", "from", m.Src, "type", m.Type)
		mm.channelLost(p.id, errSealedBeforeHandshake)
		return false
	}
	plain, err := p.ch.Open(m.buf[:0], &m.Header, m.Payload())
	if err != nil {
		mm.log.Warn("message dropped: open failed", "from", m.Src, "type", m.Type, "seq", m.Seq, "err", err)
		if b, ok := p.ch.(Breakable); ok && b.Broken() {
			mm.forget(p)
		}
		return false
	}
	m.buf = plain
	m.Len = uint32(len(plain))
	m.Flags &^= FlagSealed
	return true
}

// peerIn is peer for an incoming message: the sender need not be routable
// from here (it may have stopped since).
func (mm *Manager) peerIn(id AgentID) (*peer, error) {
	p := mm.peers[id]
	if p == nil {
		p = &peer{id: id}
		mm.peers[id] = p
	}
	if !p.chSet {
		mm.last = nil
		return mm.peer(id)
	}
	return p, p.chErr
}

// refuse answers a request that can no longer be served.
func (mm *Manager) refuse(m *Message, why error) {
	if m.Type == TypeRequest {
		_ = mm.reply(m, FlagError, []byte(why.Error()), false)
	}
}

// Stats counts the manager's traffic.
type Stats struct {
	Sent, Received uint64
	// Rejected counts messages dropped on delivery because their channel
	// refused them (tampered, replayed, reordered, unsealed).
	Rejected uint64
}

// Stats returns the manager's counters; safe from any goroutine.
func (mm *Manager) Stats() Stats {
	return Stats{Sent: mm.sent.Load(), Received: mm.received.Load(), Rejected: mm.rejected.Load()}
}

// shutdown runs under the baton after the agent's Stop: it fails pending
// requests and cancels timers. Later sends fail with ErrStopped.
func (mm *Manager) shutdown() {
	mm.stopped = true
	for id, cb := range mm.pending {
		delete(mm.pending, id)
		cb(nil, fmt.Errorf("request from %s: %w", mm.self, ErrStopped))
	}
	mm.timers.stopAll()
	for _, p := range mm.peers {
		if p.hs != nil {
			mm.endHandshake(p, ErrStopped)
		}
	}
}
