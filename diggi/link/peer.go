package link

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/securecached/securecached/diggi"
)

// Peer is the link to one other instance. It outlives its sessions: its
// agents stay in the directory while the link reconnects (sends to them
// bounce meanwhile), until the hub forgets the peer.
type Peer struct {
	hub  *Hub
	name string
	id   diggi.InstanceID

	// runMu is held by the session that runs; a new session waits for the
	// one it replaces to end.
	runMu sync.Mutex

	mu       sync.Mutex
	sess     *session
	agents   map[diggi.AgentID]*remote
	address  string
	attested bool
	gone     bool

	stats counters
}

// remote is one agent of the peer: its stand-in in the local runtime.
type remote struct {
	p  *Peer
	ra *diggi.RemoteAgent
	// popMu makes whoever pops ra (the session's writer, or the drain
	// that bounces while the link is down) the only consumer of its queue.
	popMu sync.Mutex
}

// Name is the peer's instance name.
func (p *Peer) Name() string { return p.name }

// ID is the peer's instance id.
func (p *Peer) ID() diggi.InstanceID { return p.id }

// Address is the link address the peer announced.
func (p *Peer) Address() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.address
}

// Up reports whether a session with the peer is live.
func (p *Peer) Up() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sess != nil
}

// Attested reports whether the peer's last session was admitted on
// evidence (false: admitted as an untrusted instance).
func (p *Peer) Attested() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attested
}

// SendGossip queues a membership packet for the peer. It reports false
// (the packet is dropped, as a datagram would be) when no session is up.
func (p *Peer) SendGossip(b []byte) bool {
	p.mu.Lock()
	s := p.sess
	p.mu.Unlock()
	return s != nil && s.queueGossip(b)
}

// Close ends the current session, if any; the caller (the cluster's
// dialer) may start another.
func (p *Peer) Close() {
	p.mu.Lock()
	s := p.sess
	p.mu.Unlock()
	if s != nil {
		s.fail(errClosed)
	}
}

func (p *Peer) shutdown(why error) {
	p.mu.Lock()
	p.gone = true
	s := p.sess
	p.mu.Unlock()
	if s != nil {
		s.fail(why)
	}
	p.runMu.Lock() // the session has ended
	defer p.runMu.Unlock()
	p.mu.Lock()
	agents := p.agents
	p.agents = map[diggi.AgentID]*remote{}
	p.mu.Unlock()
	for _, r := range agents {
		r.ra.Detach()
		p.drainDown(r)
	}
	// Sockets connected while the link was down (their connect was lost)
	// learn it now; see diggi.TypeLinkLost.
	p.hub.opts.Instance.LinkLost(p.id, nil, nil)
}

// run carries one session; see Hub.Run.
func (p *Peer) run(conn *tls.Conn, br *bufio.Reader, hello Hello, attested bool) error {
	p.mu.Lock()
	old := p.sess
	p.mu.Unlock()
	if old != nil {
		old.fail(errors.New("link: replaced by a new connection"))
	}
	p.runMu.Lock()
	defer p.runMu.Unlock()
	// The session is live before the peer's new agents are published, so
	// a message sent to one as soon as it is in the directory goes out.
	s := newSession(p, conn, br, hello.Window)
	p.mu.Lock()
	p.sess = s
	for _, r := range p.agents {
		r.ra.SetUp(true)
	}
	p.mu.Unlock()
	if err := p.reconcile(hello, attested); err != nil {
		p.mu.Lock()
		p.sess = nil
		for _, r := range p.agents {
			r.ra.SetUp(false)
		}
		p.mu.Unlock()
		s.fail(err)
		return err
	}
	p.stats.sessions.Add(1)
	if f := p.hub.opts.OnSession; f != nil {
		f(p, true)
	}
	p.hub.log.Info("link up", "peer", p.name, "addr", conn.RemoteAddr().String(), "attested", attested)

	go s.writeLoop()
	err := s.readLoop()
	s.fail(err)
	<-s.writerDone
	conn.Close()
	s.bounceInflight()

	p.mu.Lock()
	p.sess = nil
	for _, r := range p.agents {
		r.ra.SetUp(false)
	}
	agents := make([]*remote, 0, len(p.agents))
	for _, r := range p.agents {
		agents = append(agents, r)
	}
	p.mu.Unlock()
	for _, r := range agents {
		p.drainDown(r)
	}
	// What the session carried may be lost (nothing is retransmitted):
	// the local agents forget their channels to the peer's agents and
	// reset their sockets with them. For an agent this session delivered
	// to, the notice follows what it delivered, through the same Import.
	p.hub.opts.Instance.LinkLost(p.id, func(id diggi.AgentID) *diggi.Import { return s.imports[id] }, p.hub.done)
	err = s.err()
	p.stats.end(err)
	p.hub.log.Info("link down", "peer", p.name, "err", err)
	if f := p.hub.opts.OnSession; f != nil {
		f(p, false)
	}
	return err
}

// reconcile makes the directory's view of the peer's agents match its
// hello: new agents are attached (up: the session is live), agents it no
// longer has are detached.
func (p *Peer) reconcile(hello Hello, attested bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		return errClosed
	}
	p.address, p.attested = hello.Address, attested
	in := p.hub.opts.Instance
	want := map[diggi.AgentID]AgentInfo{}
	for _, a := range hello.Agents {
		want[diggi.MakeAgentID(hello.ID, a.Local)] = a
	}
	for id, r := range p.agents {
		a, ok := want[id]
		info := r.ra.Info()
		if !ok || a.Name != info.Name || a.Kind != info.Kind || a.Trusted != info.Trusted {
			r.ra.Detach()
			delete(p.agents, id)
			go p.drainDown(r)
		}
	}
	for id, a := range want {
		if _, ok := p.agents[id]; ok {
			continue
		}
		r := &remote{p: p}
		ra, err := in.AttachRemote(diggi.Info{ID: id, Name: a.Name, Kind: a.Kind, Instance: hello.Instance, Trusted: a.Trusted}, r.wake, true)
		if err != nil {
			return fmt.Errorf("link: agent %s/%s: %w", hello.Instance, a.Name, err)
		}
		r.ra = ra
		p.agents[id] = r
	}
	return nil
}

// wake is the RemoteAgent's drain: the session's writer takes the queue,
// or, with the link down, its messages bounce.
func (r *remote) wake() {
	r.p.mu.Lock()
	s := r.p.sess
	r.p.mu.Unlock()
	if s != nil && s.ready(r) {
		return
	}
	r.p.drainDown(r)
}

// drainDown bounces everything queued for r: a request is answered with
// the runtime's error response. Nothing is kept for a later session, so
// nothing is delivered twice or behind messages sent after it.
func (p *Peer) drainDown(r *remote) {
	r.popMu.Lock()
	defer r.popMu.Unlock()
	in := p.hub.opts.Instance
	for {
		for m := r.ra.Pop(); m != nil; m = r.ra.Pop() {
			p.stats.bounced.Add(1)
			in.Bounce(m, diggi.ErrLinkDown)
		}
		if !r.ra.Idle() {
			return
		}
	}
}

// Stats counts a peer's link traffic and failures.
type Stats struct {
	Sessions uint64 // sessions established
	Ended    uint64 // sessions ended, for any reason
	// Integrity counts sessions torn down because TLS found a record
	// that failed authentication or did not parse: bytes flipped,
	// dropped, reordered, replayed or injected on the wire.
	Integrity uint64
	// Protocol counts sessions torn down because the peer broke the
	// framing, credit or addressing rules inside TLS.
	Protocol          uint64
	MsgsOut, MsgsIn   uint64
	BytesOut, BytesIn uint64 // frame bytes, inside TLS
	// Bounced counts messages given up because the link was down when
	// they were due to leave, and requests a failed session had carried
	// without an answer (both bounced to their senders).
	Bounced uint64
}

type counters struct {
	sessions, ended, integrity, protocol atomic.Uint64
	msgsOut, msgsIn, bytesOut, bytesIn   atomic.Uint64
	bounced                              atomic.Uint64
}

func (c *counters) end(err error) {
	c.ended.Add(1)
	switch classify(err) {
	case endIntegrity:
		c.integrity.Add(1)
	case endProtocol:
		c.protocol.Add(1)
	}
}

// Stats returns the peer's counters.
func (p *Peer) Stats() Stats {
	c := &p.stats
	return Stats{
		Sessions: c.sessions.Load(), Ended: c.ended.Load(), Integrity: c.integrity.Load(), Protocol: c.protocol.Load(),
		MsgsOut: c.msgsOut.Load(), MsgsIn: c.msgsIn.Load(), BytesOut: c.bytesOut.Load(), BytesIn: c.bytesIn.Load(),
		Bounced: c.bounced.Load(),
	}
}
