package posix

import (
	"fmt"
	"io"
	"syscall"

	"github.com/securecached/securecached/diggi"
)

// maxChunk bounds the stream bytes in one message, so a segment fits the
// largest pooled message buffer with room for a channel's overhead.
const maxChunk = 32 << 10

// maxWindow caps a send window however many credits a peer grants.
const maxWindow = 1 << 30

type sockState uint8

const (
	sockNew sockState = iota
	sockListening
	sockConnecting
	sockConnected
	sockFailed // connect refused or reset before it completed
	sockClosed
)

// socket is a stream socket whose segments travel as TypeNetIO messages.
// Flow control is TCP's idea in miniature: each side advertises a receive
// window and grants more as its application reads, so a slow reader holds
// its writer back without stalling the agent's other sessions, and a
// receive buffer never grows past the window.
type socket struct {
	handleBase
	state sockState

	// listening
	port       uint16
	backlog    []*socket
	maxBacklog int

	// connection
	key      connKey
	peerPort uint16
	rq       []byte     // received bytes copied; rq[rqOff:] is unread, reused once drained
	rqOff    int        // bytes of rq already read
	kept     []keptData // received data ahead of rq: kept segments, and copies that came before them; kept[keptOff:] unread
	keptOff  int        // entries of kept already read and released
	rqLen    int        // unread bytes, of kept and rq together
	rcvBuf   int        // advertised window: unread, in flight, consumed and the peer's credit
	rcvMax   int        // the most rcvBuf may grow to (Sys.RecvBuffer when the socket was made)
	rcvWant  int        // the window rcvBuf shrinks towards (window.go)
	consumed int        // bytes read and not yet granted back to the peer
	limited  bool       // the peer was held back by the window since the buffer last drained
	quiet    uint8      // drains in a row with the peer not held back
	heldBack bool       // a write found no window: the next segment says so (windowLimited)
	sendWnd  int        // bytes the peer lets us send
	rcvFin   bool
	sentFin  bool
	shutRd   bool
	reset    bool
	connErr  error
	nprog    uint64
	roomWait bool   // listed in Sys.roomWaiter
	origin   Origin // declared by the initiator (SetOrigin), or received with its connect
}

// Origin says where a relayed connection really comes from: the initiator
// (a gateway, say) declares the address of its own client and the address
// that client reached, in the spirit of the PROXY protocol, so that the
// acceptor can report them (memcached's "stats conns") instead of the
// relay's Diggi address. It is the initiator's word, not a verified fact:
// report it, never base a decision on it.
type Origin struct {
	Peer  string // the original client, e.g. "tcp:127.0.0.1:57538"
	Local string // where it connected, e.g. "tcp:127.0.0.1:11211"
}

// maxOriginField bounds each Origin string (one length byte on the wire).
const maxOriginField = 255

// SetOrigin declares the Origin that Connect will send with the
// connection; call it before Connect. Each string is at most 255 bytes of
// printable ASCII.
func (s *Sys) SetOrigin(fd int, o Origin) error {
	sk, err := s.socket("setorigin", fd)
	if err != nil {
		return err
	}
	if sk.state != sockNew {
		return fdErr("setorigin", fd, EISCONN)
	}
	if len(o.Peer) > maxOriginField || len(o.Local) > maxOriginField || !printable(o.Peer) || !printable(o.Local) {
		return fdErr("setorigin", fd, EINVAL)
	}
	sk.origin = o
	return nil
}

// Origin returns what the initiator of an accepted connection declared
// with SetOrigin (the zero Origin if it declared nothing).
func (s *Sys) Origin(fd int) (Origin, error) {
	sk, err := s.socket("getorigin", fd)
	if err != nil {
		return Origin{}, err
	}
	if sk.state != sockConnected {
		return Origin{}, fdErr("getorigin", fd, ENOTCONN)
	}
	return sk.origin, nil
}

// Socket creates a stream socket (socket(2)).
func (s *Sys) Socket() (int, error) {
	sk := &socket{handleBase: handleBase{sys: s}}
	return s.allocFD(sk)
}

func (s *Sys) socket(op string, fd int) (*socket, error) {
	h, ok := s.fds.get(fd)
	if !ok {
		return nil, fdErr(op, fd, EBADF)
	}
	sk, ok := h.(*socket)
	if !ok {
		return nil, fdErr(op, fd, syscall.ENOTSOCK)
	}
	return sk, nil
}

// Listen makes fd accept connections to port of this agent (bind and
// listen in one: there are no IP addresses inside an instance). backlog
// bounds connections waiting for Accept; further ones are refused.
func (s *Sys) Listen(fd int, port uint16, backlog int) error {
	sk, err := s.socket("listen", fd)
	if err != nil {
		return err
	}
	if sk.state != sockNew {
		return fdErr("listen", fd, EINVAL)
	}
	if _, used := s.ports[port]; used {
		return fmt.Errorf("listen fd %d on port %d: %w", fd, port, EADDRINUSE)
	}
	if backlog <= 0 {
		backlog = 128
	}
	sk.state, sk.port, sk.maxBacklog = sockListening, port, backlog
	s.ports[port] = sk
	return nil
}

// Accept takes the oldest pending connection and returns its descriptor and
// the connecting agent.
func (s *Sys) Accept(fd int) (int, diggi.AgentID, error) {
	sk, err := s.socket("accept", fd)
	if err != nil {
		return -1, 0, err
	}
	for {
		if sk.state != sockListening {
			return -1, 0, fdErr("accept", fd, EINVAL)
		}
		if len(sk.backlog) > 0 {
			c := sk.backlog[0]
			sk.backlog[0] = nil
			sk.backlog = sk.backlog[1:]
			sk.nprog++
			nfd, err := s.allocFD(c)
			if err != nil {
				s.abort(c)
				return -1, 0, fdErr("accept", fd, err)
			}
			return nfd, c.key.peer, nil
		}
		if sk.nonblock {
			return -1, 0, errAcceptAgain
		}
		if err := s.block(sk.wait()); err != nil {
			return -1, 0, fdErr("accept", fd, err)
		}
	}
}

// Connect opens a connection to port of agent dst. A non-blocking socket
// returns EINPROGRESS and becomes writable (or fails) when it completes.
func (s *Sys) Connect(fd int, dst diggi.AgentID, port uint16) error {
	sk, err := s.socket("connect", fd)
	if err != nil {
		return err
	}
	switch sk.state {
	case sockNew:
	case sockConnecting:
		return fdErr("connect", fd, syscall.EALREADY)
	case sockConnected:
		return fdErr("connect", fd, EISCONN)
	default:
		return fdErr("connect", fd, EINVAL)
	}
	s.nextSession++
	sk.key = connKey{peer: dst, session: s.nextSession, initiator: true}
	sk.peerPort = port
	s.initWindow(sk)
	sk.state = sockConnecting
	s.conns[sk.key] = sk
	if err := s.post(sk, segment{op: opConnect, port: port, value: uint32(sk.rcvBuf), data: appendOrigin(nil, sk.origin)}); err != nil {
		delete(s.conns, sk.key)
		sk.state = sockNew
		return fmt.Errorf("connect fd %d to %s port %d: %w: %w", fd, dst, port, ECONNREFUSED, err)
	}
	if sk.nonblock {
		return fdErr("connect", fd, EINPROGRESS)
	}
	for sk.state == sockConnecting {
		if err := s.block(sk.wait()); err != nil {
			return fdErr("connect", fd, err)
		}
	}
	if sk.state != sockConnected {
		return fmt.Errorf("connect fd %d to %s port %d: %w", fd, dst, port, sk.connErr)
	}
	return nil
}

// ConnectName is Connect to an agent found by name in the directory
// ("agent" or "instance/agent").
func (s *Sys) ConnectName(fd int, name string, port uint16) error {
	info, ok := s.ctx.Directory().Lookup(name)
	if !ok {
		return fmt.Errorf("connect fd %d to %q: %w: %w", fd, name, ECONNREFUSED, diggi.ErrUnknownAgent)
	}
	return s.Connect(fd, info.ID, port)
}

// Shutdown half-closes a connection (shutdown(2)): SHUT_WR sends EOF to the
// peer, which can still send to us; SHUT_RD discards further input.
func (s *Sys) Shutdown(fd int, how int) error {
	sk, err := s.socket("shutdown", fd)
	if err != nil {
		return err
	}
	if sk.state != sockConnected {
		return fdErr("shutdown", fd, ENOTCONN)
	}
	if how == syscall.SHUT_RD || how == syscall.SHUT_RDWR {
		sk.shutRd = true
		s.discard(sk)
	}
	if (how == syscall.SHUT_WR || how == syscall.SHUT_RDWR) && !sk.sentFin && !sk.reset {
		sk.sentFin = true
		if err := s.post(sk, segment{op: opFin}); err != nil {
			return fdErr("shutdown", fd, err)
		}
	}
	sk.bump(sk)
	return nil
}

// PeerName returns the agent and port at the other end of a connection.
func (s *Sys) PeerName(fd int) (diggi.AgentID, uint16, error) {
	sk, err := s.socket("getpeername", fd)
	if err != nil {
		return 0, 0, err
	}
	if sk.state != sockConnected && sk.state != sockConnecting {
		return 0, 0, fdErr("getpeername", fd, ENOTCONN)
	}
	return sk.key.peer, sk.peerPort, nil
}

// SockPort returns the port a listening socket listens on, or the port an
// accepted connection arrived at.
func (s *Sys) SockPort(fd int) (uint16, error) {
	sk, err := s.socket("getsockname", fd)
	if err != nil {
		return 0, err
	}
	if sk.key.initiator {
		return 0, nil
	}
	if sk.state == sockListening {
		return sk.port, nil
	}
	return sk.peerPort, nil
}

// Session returns the connection's session identity (§4.6): peer agent and
// session id.
func (s *Sys) Session(fd int) (diggi.AgentID, uint64, error) {
	sk, err := s.socket("session", fd)
	if err != nil {
		return 0, 0, err
	}
	return sk.key.peer, sk.key.session, nil
}

func (sk *socket) Type() HandleType { return HandleSocket }

func (sk *socket) progress() uint64 { return sk.nprog }

func (sk *socket) Poll() Events {
	switch sk.state {
	case sockListening:
		if len(sk.backlog) > 0 {
			return PollIn
		}
		return 0
	case sockConnecting:
		return 0
	case sockConnected:
		var ev Events
		if sk.rqLen > 0 {
			ev |= PollIn
		}
		if sk.rcvFin || sk.shutRd {
			ev |= PollIn | PollHup
		}
		if sk.reset {
			return ev | PollErr | PollHup | PollIn
		}
		if sk.sendWnd > 0 && !sk.sentFin {
			// Writable means a write would make progress now: window
			// and queue room both. Without room the socket is woken
			// when room appears (waitRoom), so whoever polls for
			// PollOut, an event or Poll, hears of it.
			if sk.sys.roomNow() {
				ev |= PollOut
			} else {
				sk.sys.waitRoom(sk)
			}
		}
		return ev
	case sockFailed:
		return PollErr | PollHup
	case sockNew:
		return PollOut | PollHup
	}
	return PollNval
}

func (sk *socket) tryRead(p []byte) (int, error) {
	switch sk.state {
	case sockConnected:
	case sockConnecting:
		return 0, EAGAIN
	case sockFailed:
		return 0, sk.connErr
	default:
		return 0, fdErr("read", sk.fd, ENOTCONN)
	}
	if sk.rqLen > 0 {
		n := sk.take(p)
		sk.sys.credit(sk, n)
		return n, nil
	}
	if sk.reset {
		return 0, fdErr("read", sk.fd, ECONNRESET)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if sk.rcvFin || sk.shutRd {
		return 0, io.EOF
	}
	return 0, EAGAIN
}

// keepRecv bounds the receive buffer a drained socket keeps for its next
// segments: enough for the few full segments a pipelining peer delivers
// before the reader runs, so steady traffic, bursts included, copies into
// the same memory instead of regrowing it every time (that regrowth was
// most of the pipelined YCSB client's allocation). A connection that
// received a larger burst gives the memory back. 128 KB is also what
// Linux gives a TCP socket's receive buffer by default (tcp_rmem).
const keepRecv = 4 * maxChunk

// The receive queue holds a segment's data one of two ways:
//
//   - copied into rq (enqueue), when the segment is small or came in a
//     batch with other sockets' records: the message is transient;
//   - kept whole (keep), when the segment travelled alone with more than
//     maxBatched bytes: the socket takes the message from its dispatch
//     (diggi.Manager.Keep) and reads from it, so a large reply or value
//     is not copied once more on its way to the reader.
//
// Invariants, enforced in keep, take and dropRecv: the bytes are read in
// arrival order, the kept list before rq, because rq only ever holds what
// came after the list's last entry (keep first moves rq's unread bytes,
// with their buffer, into the list); each kept message is released exactly
// once, by take when its last byte is read or by dropRecv when the input
// is dropped (close, SHUT_RD), so its buffer returns to the pool. The
// window bounds the unread bytes as before; a kept segment's buffer is at
// most the largest pooled class and held more than maxBatched bytes when
// it came, so a socket's receive memory stays within about four times its
// window.

// keptData is received data ahead of rq: a segment kept whole (m is its
// message), or bytes copied before one came (m is nil; data is a former
// rq). data is the unread rest.
type keptData struct {
	m    *diggi.Message
	data []byte
}

// take copies buffered input into p: kept segments first, then rq.
func (sk *socket) take(p []byte) int {
	n := 0
	for sk.keptOff < len(sk.kept) && n < len(p) {
		k := &sk.kept[sk.keptOff]
		c := copy(p[n:], k.data)
		n += c
		if k.data = k.data[c:]; len(k.data) == 0 {
			if k.m != nil {
				diggi.Release(k.m)
			}
			*k = keptData{}
			sk.keptOff++
		}
	}
	if n < len(p) {
		c := copy(p[n:], sk.rq[sk.rqOff:])
		sk.rqOff += c
		n += c
	}
	sk.rqLen -= n
	if sk.rqLen == 0 {
		sk.dropRecv()
	}
	sk.nprog += uint64(n)
	return n
}

// enqueue copies a received segment's data into the receive buffer (the
// message it came in is transient). The window bounds the buffer: unread
// bytes never exceed rcvBuf, and read bytes are compacted away before the
// buffer grows.
func (sk *socket) enqueue(data []byte) {
	if sk.rqOff > 0 && len(sk.rq)+len(data) > cap(sk.rq) {
		n := copy(sk.rq, sk.rq[sk.rqOff:])
		sk.rq, sk.rqOff = sk.rq[:n], 0
	}
	sk.rq = append(sk.rq, data...)
	sk.rqLen += len(data)
}

// canKeep reports whether a segment of n data bytes, alone in its message,
// is kept rather than copied (see above).
func canKeep(n int) bool { return n > maxBatched }

// keep queues a kept segment's data; m is the socket's to release. Bytes
// still unread in rq came first: they move to the list with rq's buffer,
// and rq starts afresh.
func (sk *socket) keep(m *diggi.Message, data []byte) {
	if sk.keptOff > 0 && sk.keptOff == len(sk.kept) {
		sk.kept, sk.keptOff = sk.kept[:0], 0
	}
	if sk.rqOff < len(sk.rq) {
		sk.kept = append(sk.kept, keptData{data: sk.rq[sk.rqOff:]})
		sk.rq, sk.rqOff = nil, 0
	}
	sk.kept = append(sk.kept, keptData{m: m, data: data})
	sk.rqLen += len(data)
}

// dropRecv empties the receive buffer, releasing what it kept and keeping
// rq's memory for reuse unless a burst grew it past keepRecv or past the
// window (which may have shrunk since: window.go), so a socket whose flow
// slowed keeps no more than its flow needs.
func (sk *socket) dropRecv() {
	for i := sk.keptOff; i < len(sk.kept); i++ {
		if sk.kept[i].m != nil {
			diggi.Release(sk.kept[i].m)
		}
		sk.kept[i] = keptData{}
	}
	sk.kept, sk.keptOff = sk.kept[:0], 0
	if cap(sk.rq) > min(keepRecv, sk.rcvBuf) {
		sk.rq = nil
	} else {
		sk.rq = sk.rq[:0]
	}
	sk.rqOff, sk.rqLen = 0, 0
}

func (sk *socket) tryWrite(bufs [][]byte, skip int) (int, error) {
	s := sk.sys
	want := sumLen(bufs) - skip
	written := 0
	for written < want {
		switch {
		case sk.state == sockConnecting:
			return written, EAGAIN
		case sk.state == sockFailed:
			return written, sk.connErr
		case sk.state != sockConnected:
			return written, fdErr("write", sk.fd, ENOTCONN)
		case sk.reset:
			return written, fdErr("write", sk.fd, ECONNRESET)
		case sk.sentFin:
			return written, fdErr("write", sk.fd, EPIPE)
		case sk.sendWnd == 0:
			sk.heldBack = true
			return written, EAGAIN // the peer's window grant bumps sk
		case !s.roomNow():
			s.waitRoom(sk)
			return written, EAGAIN
		}
		n := min(want-written, sk.sendWnd, maxChunk)
		batched := s.cork > 0 && n <= maxBatched
		if !batched {
			s.flushBatch()
			if !s.roomNow() { // the batch took the last of the room
				s.waitRoom(sk)
				return written, EAGAIN
			}
		}
		// From here the segment goes out, so the grant and the held-back
		// mark it carries are taken only now: taken before a refusal,
		// they would be lost, and a window that loses grants closes for
		// good.
		flags := sk.flags()
		if sk.heldBack || n == sk.sendWnd && n < want-written {
			flags |= windowLimited
			sk.heldBack = false
		}
		grant := sk.takeGrant()
		if batched {
			s.batchData(sk, bufs, skip+written, n, flags, grant)
		} else {
			// The segment's header and its data go to the Manager as
			// two parts, so data that lies in one buffer (a value's
			// item memory, a relay's read) is sealed or copied into
			// the message straight from there, not gathered first.
			s.scratch = appendSegment(s.scratch[:0], segment{op: opData, flags: flags, value: uint32(grant)})
			data, whole := span(bufs, skip+written, n)
			if !whole {
				s.scratch = gather(s.scratch, bufs, skip+written, n)
			}
			if err := s.out(sk.key.peer, sk.key.session, s.scratch, data); err != nil {
				return written, fmt.Errorf("write fd %d: %w: %w", sk.fd, ECONNRESET, err)
			}
		}
		sk.sendWnd -= n
		sk.nprog += uint64(n)
		written += n
	}
	return written, nil
}

func (sk *socket) flags() uint8 {
	if sk.key.initiator {
		return fromInitiator
	}
	return 0
}

// close implements close(2) with TCP's manners: unread input makes it a
// reset, otherwise the peer gets EOF. Connections waiting in a listener's
// backlog are reset.
func (sk *socket) close() error {
	s := sk.sys
	switch sk.state {
	case sockListening:
		delete(s.ports, sk.port)
		for _, c := range sk.backlog {
			s.abort(c)
		}
		sk.backlog = nil
	case sockConnecting, sockConnected:
		delete(s.conns, sk.key)
		s.releaseWindow(sk)
		if !sk.reset {
			// Neither waits (see room.go): close never hands the
			// agent's baton away.
			if sk.rqLen > 0 {
				_ = s.post(sk, segment{op: opReset})
			} else if !sk.sentFin {
				_ = s.post(sk, segment{op: opFin})
			}
		}
		sk.dropRecv()
		sk.rq, sk.kept = nil, nil
	}
	sk.state = sockClosed
	return nil
}

// abort resets a connection that has no descriptor.
func (s *Sys) abort(c *socket) {
	delete(s.conns, c.key)
	s.releaseWindow(c)
	if !c.reset {
		_ = s.post(c, segment{op: opReset})
	}
	c.state = sockClosed
}

// discard drops buffered input (SHUT_RD), granting its window back.
func (s *Sys) discard(sk *socket) {
	n := sk.rqLen
	sk.dropRecv()
	s.credit(sk, n)
}

// credit grants consumed input back to the peer once a quarter of the
// window has been read, so window updates cost one message per quarter
// window, not one per read; until then a data segment sk sends carries
// the grant (takeGrant), which usually leaves none to send alone. It also tunes the window (window.go) each time
// the reader empties the buffer.
func (s *Sys) credit(sk *socket, n int) {
	sk.consumed += n
	if sk.rqLen == 0 {
		s.tuneWindow(sk)
	}
	s.withhold(sk)
	if sk.consumed < sk.rcvBuf/4 {
		return
	}
	if grant := sk.takeGrant(); grant > 0 {
		_ = s.post(sk, segment{op: opWindow, value: uint32(grant)})
	}
}

// takeGrant returns the consumed bytes to grant back with a data segment
// sk sends now (zero if none, or if the peer may send no more), and counts
// them granted.
func (sk *socket) takeGrant() int {
	g := sk.consumed
	if g == 0 || sk.rcvFin || sk.reset || sk.state != sockConnected {
		return 0
	}
	sk.consumed = 0
	return g
}

// post sends a control segment for sk, after any data held by Cork (a FIN
// or reset must not overtake it). It never waits (see Sys.out).
func (s *Sys) post(sk *socket, sg segment) error {
	s.flushBatch()
	sg.flags = sk.flags()
	s.scratch = appendSegment(s.scratch[:0], sg)
	return s.out(sk.key.peer, sk.key.session, s.scratch, nil)
}

// onMessage demultiplexes socket segments to sessions (the NETIO
// subscription of §4.6). The message is transient: data is copied, or the
// message is kept by the socket it is for (see take).
func (s *Sys) onMessage(m *diggi.Message) {
	sg, err := parseSegment(m.Payload())
	if err != nil {
		s.ctx.Log().Warn("bad socket segment", "from", m.Src, "err", err)
		return
	}
	if sg.op == opBatch {
		s.onBatch(m.Src, sg)
		return
	}
	s.onSegment(m.Src, m.Session, sg, m)
}

// onSegment applies one segment of session to its socket. m is the
// message the segment came in alone, which the socket may keep, or nil
// for a record of a batch.
func (s *Sys) onSegment(src diggi.AgentID, session uint64, sg segment, m *diggi.Message) {
	fromInit := sg.flags&fromInitiator != 0
	key := connKey{peer: src, session: session, initiator: !fromInit}
	if sg.op == opConnect {
		if fromInit {
			s.onConnect(key, sg)
		}
		return
	}
	sk := s.conns[key]
	if sk == nil {
		if sg.op == opData || sg.op == opAccept {
			s.reply(key, opReset)
		}
		return
	}
	switch sg.op {
	case opAccept:
		if sk.state == sockConnecting {
			sk.state = sockConnected
			sk.sendWnd = int(min(sg.value, maxWindow))
		}
	case opRefuse:
		if sk.state == sockConnecting {
			delete(s.conns, key)
			sk.state = sockFailed
			sk.connErr = ECONNREFUSED
		}
	case opData:
		if sg.value > 0 {
			sk.sendWnd = min(sk.sendWnd+int(sg.value), maxWindow)
		}
		if sk.shutRd {
			s.credit(sk, len(sg.data))
			break
		}
		if sk.rqLen+len(sg.data) > sk.rcvBuf || sk.rcvFin {
			// The peer ignored our window (or sent after EOF): abort
			// rather than buffer without bound.
			s.ctx.Log().Warn("socket peer overran its window; resetting", "peer", src, "session", session)
			s.abort(sk)
			sk.state = sockConnected
			sk.reset = true
			break
		}
		if m != nil && canKeep(len(sg.data)) {
			sk.keep(s.mm.Keep(m), sg.data)
		} else {
			sk.enqueue(sg.data)
		}
		if sg.flags&windowLimited != 0 {
			sk.limited = true
		}
	case opWindow:
		sk.sendWnd = min(sk.sendWnd+int(sg.value), maxWindow)
	case opFin:
		sk.rcvFin = true
	case opReset:
		s.reset(key, sk)
	}
	sk.bump(sk)
}

// reset ends sk's connection as a reset from the peer does: a blocked
// read or write wakes with ECONNRESET, a connect in progress fails with
// ECONNREFUSED, as TCP's would. The caller bumps sk.
func (s *Sys) reset(key connKey, sk *socket) {
	delete(s.conns, key)
	if sk.state == sockConnecting {
		sk.state = sockFailed
		sk.connErr = ECONNREFUSED
	} else {
		sk.reset = true
	}
}

// onLinkLost resets every connection with an agent of an instance whose
// link broke (diggi.TypeLinkLost): segments of it may have been lost, so
// the stream cannot go on, and a peer that died will never send the reset
// itself. A blocked read or write wakes with ECONNRESET (a connect in
// progress fails with ECONNREFUSED), as TCP's would on a reset.
func (s *Sys) onLinkLost(m *diggi.Message) {
	inst, ok := diggi.LinkLostPeer(m)
	if !ok {
		return
	}
	s.resetConns(func(peer diggi.AgentID) bool { return peer.Instance() == inst }, false)
}

// onChannelLost resets every connection with an agent whose channel the
// manager lost (diggi.Manager.OnChannelLost): segments to or from it may
// have been dropped, and the next ones, under a new channel, would land
// behind the gap. Unlike a lost link, the peer can still be reached: it is
// sent the reset (best effort), which, sealed under a new channel, makes
// the peer lose its old one too, so both ends learn at once.
func (s *Sys) onChannelLost(peer diggi.AgentID, _ error) {
	s.resetConns(func(p diggi.AgentID) bool { return p == peer }, true)
}

// resetConns resets the connections whose peer lost matches, and sends
// each peer the reset if tell.
func (s *Sys) resetConns(lost func(diggi.AgentID) bool, tell bool) {
	for key, sk := range s.conns {
		if !lost(key.peer) {
			continue
		}
		s.reset(key, sk)
		if tell {
			s.reply(key, opReset)
		}
		sk.bump(sk)
	}
}

// onConnect accepts a new connection into a listener's backlog, or refuses
// it.
func (s *Sys) onConnect(key connKey, sg segment) {
	if _, dup := s.conns[key]; dup {
		return
	}
	origin, err := parseOrigin(sg.data)
	if err != nil {
		s.ctx.Log().Warn("bad connect; refusing", "peer", key.peer, "session", key.session, "err", err)
		s.reply(key, opRefuse)
		return
	}
	l := s.ports[sg.port]
	if l == nil || len(l.backlog) >= l.maxBacklog || s.stopped {
		s.reply(key, opRefuse)
		return
	}
	c := &socket{
		handleBase: handleBase{sys: s, fd: -1},
		state:      sockConnected,
		key:        key,
		peerPort:   sg.port,
		sendWnd:    int(min(sg.value, maxWindow)),
		origin:     origin,
	}
	s.initWindow(c)
	s.conns[key] = c
	if err := s.post(c, segment{op: opAccept, value: uint32(c.rcvBuf)}); err != nil {
		delete(s.conns, key)
		return
	}
	l.backlog = append(l.backlog, c)
	l.bump(l)
}

// reply answers a segment for a session this agent does not have.
func (s *Sys) reply(key connKey, o op) {
	var flags uint8
	if key.initiator {
		flags = fromInitiator
	}
	// Best effort, and never queued: a peer cannot make this agent
	// buffer answers to segments for sessions it does not have.
	if !s.roomNow() {
		return
	}
	s.flushBatch()
	s.scratch = appendSegment(s.scratch[:0], segment{op: o, flags: flags})
	_ = s.mm.TryPost(key.peer, diggi.TypeNetIO, key.session, s.scratch)
}
