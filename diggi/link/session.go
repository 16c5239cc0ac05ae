package link

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/securecached/securecached/diggi"
)

// writeBatch bounds how many messages the writer takes from one remote
// agent before it serves the others listed as ready.
const writeBatch = 64

// maxGossip bounds a membership packet.
const maxGossip = 64 << 10

// maxGossipQueued bounds the membership packets waiting for the writer;
// more are dropped, as datagrams would be.
const maxGossipQueued = 256

// session is one TLS connection of a Peer. The reader goroutine (readLoop)
// feeds the runtime through Imports and updates credit; the writer
// goroutine (writeLoop) drains the remote agents that are ready and hold
// credit, plus credit and gossip frames, into one buffered writer that is
// flushed when there is nothing more to write.
type session struct {
	p      *Peer
	conn   *tls.Conn
	batch  *batchConn // under conn, if the hub made it: one socket write per flush
	held   bool       // the writer holds batch: records gather until flush (writer only)
	br     *bufio.Reader
	bw     *bufio.Writer
	window int // the peer's window: initial credit per destination

	kick       chan struct{} // the writer has work (capacity 1)
	done       chan struct{} // closed by fail
	writerDone chan struct{}
	failOnce   sync.Once
	failErr    error

	// mu guards the writer's work lists and credit.
	mu      sync.Mutex
	closed  bool
	todo    []*remote // remote agents the writer should pump
	listed  map[*remote]bool
	credit  map[diggi.AgentID]int
	starved map[diggi.AgentID]*remote // out of credit, queue not empty
	ctrl    []byte                    // encoded credit frames
	gossip  [][]byte

	// reader only
	imports map[diggi.AgentID]*diggi.Import

	// Requests written and not yet answered: when the session fails they
	// are answered with the runtime's bounce, as requests still queued
	// are, so a caller learns the link failed instead of timing out.
	flightMu sync.Mutex
	inflight map[flight]struct{}
}

// flight names a request in flight by its local sender and session.
type flight struct {
	src, dst diggi.AgentID
	session  uint64
}

func newSession(p *Peer, conn *tls.Conn, br *bufio.Reader, window int) *session {
	return &session{
		p: p, conn: conn, batch: batcherOf(conn), br: br, bw: bufio.NewWriterSize(conn, 64<<10), window: window,
		kick: make(chan struct{}, 1), done: make(chan struct{}), writerDone: make(chan struct{}),
		listed: map[*remote]bool{}, credit: map[diggi.AgentID]int{}, starved: map[diggi.AgentID]*remote{},
		imports: map[diggi.AgentID]*diggi.Import{}, inflight: map[flight]struct{}{},
	}
}

// fail ends the session (the first error is kept); it closes the
// connection so that both loops return.
func (s *session) fail(err error) {
	s.failOnce.Do(func() {
		if err == nil {
			err = io.EOF
		}
		s.mu.Lock()
		s.closed = true
		s.failErr = err
		s.mu.Unlock()
		close(s.done)
		// Unblock a writer stuck on a peer that stopped reading.
		s.conn.SetDeadline(time.Now())
	})
}

func (s *session) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failErr
}

func (s *session) wakeWriter() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// ready lists r for the writer; false if the session is closing (the
// caller then bounces r's queue).
func (s *session) ready(r *remote) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.listLocked(r)
	s.mu.Unlock()
	s.wakeWriter()
	return true
}

// listLocked puts r on the writer's list once. s.mu is held.
func (s *session) listLocked(r *remote) {
	if !s.listed[r] {
		s.listed[r] = true
		s.todo = append(s.todo, r)
	}
}

func (s *session) queueGossip(b []byte) bool {
	if len(b) > maxGossip {
		return false
	}
	s.mu.Lock()
	if s.closed || len(s.gossip) >= maxGossipQueued {
		s.mu.Unlock()
		return false
	}
	s.gossip = append(s.gossip, append([]byte(nil), b...))
	s.mu.Unlock()
	s.wakeWriter()
	return true
}

func (s *session) queueCredit(dst diggi.AgentID, n uint64) {
	s.mu.Lock()
	s.ctrl = appendFrameHeader(s.ctrl, kindCredit, 12)
	s.ctrl = binary.BigEndian.AppendUint64(s.ctrl, uint64(dst))
	s.ctrl = binary.BigEndian.AppendUint32(s.ctrl, uint32(n))
	s.mu.Unlock()
	s.wakeWriter()
}

// addCredit applies a credit frame: the peer's mover took n messages for
// dst. Credit above the window means the peer replayed or forged credit.
func (s *session) addCredit(dst diggi.AgentID, n uint32) error {
	s.mu.Lock()
	c, ok := s.credit[dst]
	if !ok {
		c = s.window
	}
	c += int(n)
	if c > s.window {
		s.mu.Unlock()
		return fmt.Errorf("%w: credit for %s above the window (%d > %d)", ErrProtocol, dst, c, s.window)
	}
	s.credit[dst] = c
	r := s.starved[dst]
	if r != nil {
		delete(s.starved, dst)
		s.listLocked(r)
	}
	s.mu.Unlock()
	if r != nil {
		s.wakeWriter()
	}
	return nil
}

func (s *session) writeLoop() {
	defer close(s.writerDone)
	var ready []*remote
	var gossip [][]byte
	var ctrl []byte
	for {
		s.mu.Lock()
		ready, s.todo = s.todo, ready[:0]
		for _, r := range ready {
			delete(s.listed, r)
		}
		gossip, s.gossip = s.gossip, gossip[:0]
		ctrl, s.ctrl = s.ctrl, ctrl[:0]
		s.mu.Unlock()
		if len(ready) == 0 && len(gossip) == 0 && len(ctrl) == 0 {
			if s.bw.Buffered() > 0 || s.held {
				if err := s.flush(); err != nil {
					s.fail(err)
					return
				}
				continue
			}
			select {
			case <-s.kick:
				continue
			case <-s.done:
				return
			}
		}
		if len(ctrl) > 0 {
			if err := s.write(ctrl); err != nil {
				s.fail(err)
				return
			}
		}
		for i, g := range gossip {
			if err := s.write(appendFrameHeader(nil, kindGossip, len(g))); err != nil {
				s.fail(err)
				return
			}
			if err := s.writeBody(g); err != nil {
				s.fail(err)
				return
			}
			gossip[i] = nil
		}
		for i, r := range ready {
			ready[i] = nil
			if err := s.pump(r); err != nil {
				s.fail(err)
				return
			}
		}
	}
}

// flush writes out what the writer has buffered: its TLS records, and
// the one socket write that carries them all.
func (s *session) flush() error {
	if s.bw.Buffered() > maxRecord {
		s.hold()
	}
	err := s.bw.Flush()
	if s.held {
		s.held = false
		if e := s.batch.release(); err == nil {
			err = e
		}
	}
	return err
}

// maxRecord is the most plaintext crypto/tls puts in one record.
const maxRecord = 16 << 10

// hold makes the records of the rest of this round gather in s.batch
// (if the hub made one). Only rounds of more than one record take it: a
// smaller one is one record and one socket write anyway.
func (s *session) hold() {
	if s.batch != nil && !s.held {
		s.batch.hold()
		s.held = true
	}
}

// buffer adds p to the writer's buffer; if that spills the buffer into
// TLS records, those gather for the round's one socket write.
func (s *session) buffer(p []byte) error {
	if len(p) > s.bw.Available() {
		s.hold()
	}
	_, err := s.bw.Write(p)
	return err
}

// pump writes up to writeBatch of r's queued messages, as far as credit
// allows, and says what r waits for next: the writer again (more queued),
// credit (starved), or a wake-up (empty).
func (s *session) pump(r *remote) error {
	r.popMu.Lock()
	defer r.popMu.Unlock()
	id := r.ra.Info().ID
	// Take the credit before writing: the peer may return credit for
	// these messages before this function ends, and the window check in
	// addCredit must see them as spent.
	s.mu.Lock()
	c, ok := s.credit[id]
	if !ok {
		c = s.window
	}
	take := min(c, writeBatch)
	s.credit[id] = c - take
	s.mu.Unlock()
	n, empty := 0, false
	var hdr [5 + diggi.HeaderSize]byte
	for n < take {
		m := r.ra.Pop()
		if m == nil {
			empty = true
			break
		}
		if m.Type == diggi.TypeRequest {
			s.flightMu.Lock()
			s.inflight[flight{m.Src, m.Dst, m.Session}] = struct{}{}
			s.flightMu.Unlock()
		}
		b := appendFrameHeader(hdr[:0], kindMsg, diggi.HeaderSize+int(m.Len))
		b = m.Header.AppendBinary(b)
		err := s.writeMsg(b, m.Payload())
		diggi.Release(m)
		if err != nil {
			return err
		}
		n++
	}
	s.p.stats.msgsOut.Add(uint64(n))
	s.mu.Lock()
	s.credit[id] += take - n
	switch {
	case empty:
	case s.credit[id] == 0:
		s.starved[id] = r // stays armed: credit relists it
	default:
		s.listLocked(r)
	}
	s.mu.Unlock()
	if empty && r.ra.Idle() {
		s.mu.Lock()
		s.listLocked(r)
		s.mu.Unlock()
	}
	return nil
}

func (s *session) write(frame []byte) error {
	if tap := s.p.hub.opts.Tap; tap != nil {
		tap(frame)
	}
	s.p.stats.bytesOut.Add(uint64(len(frame)))
	return s.buffer(frame)
}

// writeBody writes the rest of a frame whose header write already tapped.
func (s *session) writeBody(b []byte) error {
	if tap := s.p.hub.opts.Tap; tap != nil {
		tap(b)
	}
	s.p.stats.bytesOut.Add(uint64(len(b)))
	return s.buffer(b)
}

func (s *session) writeMsg(head, payload []byte) error {
	if tap := s.p.hub.opts.Tap; tap != nil {
		tap(append(append([]byte(nil), head...), payload...))
	}
	s.p.stats.bytesOut.Add(uint64(len(head) + len(payload)))
	if err := s.buffer(head); err != nil {
		return err
	}
	return s.buffer(payload)
}

func (s *session) readLoop() error {
	local := s.p.hub.opts.Instance.ID()
	var hb [diggi.HeaderSize]byte
	for {
		kind, n, err := readFrameHeader(s.br)
		if err != nil {
			return err
		}
		switch kind {
		case kindMsg:
			if n < diggi.HeaderSize {
				return fmt.Errorf("%w: message frame of %d bytes", ErrProtocol, n)
			}
			if _, err := io.ReadFull(s.br, hb[:]); err != nil {
				return err
			}
			h, err := diggi.ParseHeader(hb[:])
			if err != nil {
				return fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			if int(h.Len) != n-diggi.HeaderSize {
				return fmt.Errorf("%w: header length %d in a frame of %d", ErrProtocol, h.Len, n)
			}
			if err := s.checkAddress(&h, local); err != nil {
				return err
			}
			m := diggi.NewMessage(int(h.Len))
			m.Header = h
			if _, err := io.ReadFull(s.br, m.Payload()); err != nil {
				diggi.Release(m)
				return err
			}
			if tap := s.p.hub.opts.Tap; tap != nil {
				f := appendFrameHeader(nil, kindMsg, n)
				f = append(append(f, hb[:]...), m.Payload()...)
				tap(f)
			}
			if h.Type == diggi.TypeResponse {
				s.flightMu.Lock()
				delete(s.inflight, flight{h.Dst, h.Src, h.Session})
				s.flightMu.Unlock()
			}
			s.p.stats.msgsIn.Add(1)
			s.p.stats.bytesIn.Add(uint64(5 + n))
			if !s.importFor(h.Dst).Push(m) {
				diggi.Release(m)
				return fmt.Errorf("%w: %s sent beyond its credit for %s", ErrProtocol, s.p.name, h.Dst)
			}
		case kindCredit:
			if n != 12 {
				return fmt.Errorf("%w: credit frame of %d bytes", ErrProtocol, n)
			}
			var b [12]byte
			if _, err := io.ReadFull(s.br, b[:]); err != nil {
				return err
			}
			s.tapIn(kind, b[:])
			s.p.stats.bytesIn.Add(5 + 12)
			if err := s.addCredit(diggi.AgentID(binary.BigEndian.Uint64(b[:8])), binary.BigEndian.Uint32(b[8:])); err != nil {
				return err
			}
		case kindGossip:
			if n > maxGossip {
				return fmt.Errorf("%w: gossip frame of %d bytes", ErrProtocol, n)
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(s.br, b); err != nil {
				return err
			}
			s.tapIn(kind, b)
			s.p.stats.bytesIn.Add(uint64(5 + n))
			if f := s.p.hub.opts.OnGossip; f != nil {
				f(s.p, b)
			}
		default:
			return fmt.Errorf("%w: frame kind %d", ErrProtocol, kind)
		}
	}
}

func (s *session) tapIn(kind byte, body []byte) {
	if tap := s.p.hub.opts.Tap; tap != nil {
		tap(append(appendFrameHeader(nil, kind, len(body)), body...))
	}
}

// checkAddress refuses a message that is not for this instance or that
// claims to come from an agent the peer does not run. The one exception
// is the runtime's error response to a request of ours that the peer
// could not deliver, which names our own runtime as its source (see
// diggi's bounce).
func (s *session) checkAddress(h *diggi.Header, local diggi.InstanceID) error {
	if h.Dst.Instance() != local || h.Dst.Local() == 0 {
		return fmt.Errorf("%w: message for %s is not for this instance", ErrProtocol, h.Dst)
	}
	if h.Src.Instance() == s.p.id {
		return nil
	}
	if h.Src == diggi.MakeAgentID(local, 0) && h.Type == diggi.TypeResponse && h.Flags&diggi.FlagError != 0 {
		return nil
	}
	return fmt.Errorf("%w: %s may not send as %s", ErrProtocol, s.p.name, h.Src)
}

// importFor returns the Import for a local destination, making it and its
// credit returner on first use.
func (s *session) importFor(dst diggi.AgentID) *diggi.Import {
	if im := s.imports[dst]; im != nil {
		return im
	}
	im := s.p.hub.opts.Instance.NewImport(s.p.hub.opts.Window)
	s.imports[dst] = im
	go s.returnCredit(dst, im)
	return im
}

// returnCredit sends credit for dst as the mover takes messages from im,
// until the session ends: in batches of creditBatch messages, so that a
// message costs no credit frame of its own (one more TLS record, often
// one more TCP segment, and a wake-up of this goroutine and of the writer
// on each side). Holding credit back cannot stall the sender: it runs out
// only when all window messages are either in im, which the mover
// empties, or taken and not yet credited, which then number at least the
// batch. ConsumedWait is armed before Consumed is read, so a message taken
// in between is seen.
func (s *session) returnCredit(dst diggi.AgentID, im *diggi.Import) {
	batch := creditBatch(s.p.hub.opts.Window)
	var acked uint64
	for {
		ch := im.ConsumedWait(acked + batch)
		if c := im.Consumed(); c >= acked+batch {
			s.queueCredit(dst, c-acked)
			acked = c
			continue
		}
		select {
		case <-ch:
		case <-s.done:
			return
		}
	}
}

// creditBatch is how many messages a receiver takes before it returns
// their credit: a quarter of its window, so a sender holds most of its
// window while the credit for the rest is on its way.
func creditBatch(window int) uint64 { return uint64(max(1, window/4)) }

// Why a session ended, for the counters.
const (
	endClosed = iota
	endIntegrity
	endProtocol
)

// classify sorts a session's end: TLS refusing a record (its
// authentication failed, or its header is garbage) is an attack on the
// wire or a broken path; a framing, credit or addressing error inside TLS
// is the peer misbehaving; anything else (EOF, reset, timeout, close) is
// an ordinary failure.
func classify(err error) int {
	if errors.Is(err, ErrProtocol) {
		return endProtocol
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return endIntegrity
	}
	var oe *net.OpError
	if errors.As(err, &oe) && (oe.Op == "local error" || oe.Op == "remote error") {
		return endIntegrity
	}
	return endClosed
}

// bounceInflight answers every request the session carried and saw no
// response to. Called once both loops have ended.
func (s *session) bounceInflight() {
	in := s.p.hub.opts.Instance
	s.flightMu.Lock()
	defer s.flightMu.Unlock()
	for f := range s.inflight {
		m := diggi.NewMessage(0)
		m.Header = diggi.Header{Src: f.src, Dst: f.dst, Type: diggi.TypeRequest, Session: f.session}
		s.p.stats.bounced.Add(1)
		in.Bounce(m, diggi.ErrLinkDown)
	}
	clear(s.inflight)
}
