package diggi

import (
	"context"
	"fmt"
)

// RemoteError is a request's failure as reported by the other side (or by
// the runtime, when the request could not be delivered).
type RemoteError struct {
	From AgentID
	Text string
}

func (e *RemoteError) Error() string { return fmt.Sprintf("diggi: error from %s: %s", e.From, e.Text) }

// Request sends a request to dst and calls cb, under the baton, with the
// response (transient: copy what you keep) or an error. Exactly one call of
// cb happens unless the agent stops first, in which case cb gets
// ErrStopped.
func (mm *Manager) Request(dst AgentID, payload []byte, cb func(resp *Message, err error)) error {
	mm.nextSession++
	session := mm.nextSession
	mm.pending[session] = cb
	if err := mm.post(dst, TypeRequest, 0, session, payload, true); err != nil {
		delete(mm.pending, session)
		return err
	}
	return nil
}

// callSession marks the sessions of Call: their responses are consumed by
// runtime code only (copy, wake the caller), never by an agent's handler,
// so they may be dispatched on the goroutine that delivers them (see
// Manager.deliverInline). Session ids are opaque to the responder.
const callSession = 1 << 63

func isCallResponse(m *Message) bool {
	return m.Type == TypeResponse && m.Session&callSession != 0
}

// deliverInline dispatches the Call response at the head of the inbound
// queue on the calling goroutine (the one that just delivered it), if the
// agent is idle: its baton is free and no drain task is armed. The
// waiting Call then gets the baton straight from here, without a worker
// goroutine being woken to dispatch the response first. It reports
// whether it took care of the queue; false means the caller must notify
// as usual. Only runtime code runs here (channel Open, the Call's copy),
// nothing that blocks, so no agent code ever runs on a foreign goroutine.
func (mm *Manager) deliverInline() bool {
	ep := mm.ep
	if ep.armed.Load() || !mm.sched.tryAcquire() {
		return false
	}
	if !ep.armed.CompareAndSwap(false, true) {
		mm.sched.release()
		return false
	}
	// Baton and drain role held: this goroutine is the queue's consumer.
	if m := ep.in.peek(); m != nil && isCallResponse(m) && mm.settled(m.Src) {
		mm.dispatch(ep.popIn())
	}
	ep.armed.Store(false)
	if ep.in.len() > 0 {
		ep.notify() // anything else is the drain task's
	}
	mm.sched.release()
	return true
}

// settled reports whether messages from id can be opened without setting
// up anything: the peer's channel exists (or is known to be none) and no
// handshake runs. Otherwise delivery might ask the factory or send
// handshake messages, which is the drain task's job, not a foreign
// goroutine's.
func (mm *Manager) settled(id AgentID) bool {
	if id.Local() == 0 {
		return true
	}
	p := mm.peers[id]
	return p != nil && p.chSet && p.hs == nil && p.chErr == nil
}

// Call sends a request and waits for its response (the thesis's async put
// followed by a blocking getResponse, Listing 4.5). While it waits the
// agent's other tasks run. The returned payload is a copy the caller owns.
// Its requests carry session ids with the top bit set (callSession).
func (mm *Manager) Call(ctx context.Context, dst AgentID, payload []byte) ([]byte, error) {
	c := mm.newCall()
	mm.nextSession++
	session := mm.nextSession | callSession
	mm.pending[session] = c.done
	if err := mm.post(dst, TypeRequest, 0, session, payload, true); err != nil {
		delete(mm.pending, session)
		mm.freeCalls = append(mm.freeCalls, c)
		return nil, err
	}
	mm.sched.park(&c.pk, ctx.Done())
	if c.answered {
		out, err := c.out, c.err
		c.reset()
		mm.freeCalls = append(mm.freeCalls, c)
		return out, err
	}
	delete(mm.pending, session) // a late response is dropped
	cause := ctx.Err()
	if cause == nil {
		cause = ErrStopped
	}
	return nil, fmt.Errorf("call %s: %w", dst, cause)
}

// call is one blocking Call's state. Answered calls are recycled (per
// manager, under the baton), so a round trip allocates only the copy of
// the response it returns.
type call struct {
	mm       *Manager
	pk       parker
	out      []byte
	err      error
	answered bool
	done     func(*Message, error) // c.finish, bound once
}

func (mm *Manager) newCall() *call {
	if n := len(mm.freeCalls); n > 0 {
		c := mm.freeCalls[n-1]
		mm.freeCalls = mm.freeCalls[:n-1]
		return c
	}
	c := &call{mm: mm}
	c.done = c.finish
	return c
}

func (c *call) finish(resp *Message, err error) {
	if err == nil {
		c.out = append([]byte(nil), resp.Payload()...)
	}
	c.err = err
	c.answered = true
	c.mm.sched.unpark(&c.pk)
}

func (c *call) reset() {
	c.out, c.err, c.answered = nil, nil, false
	c.pk.state = parkIdle
}

// Reply answers req with payload.
func (mm *Manager) Reply(req *Message, payload []byte) error {
	return mm.reply(req, 0, payload, true)
}

// ReplyError answers req with an error the caller sees as a *RemoteError.
func (mm *Manager) ReplyError(req *Message, text string) error {
	return mm.reply(req, FlagError, []byte(text), true)
}

func (mm *Manager) reply(req *Message, flags Flags, payload []byte, block bool) error {
	if req.Type != TypeRequest {
		return fmt.Errorf("reply to %s message from %s: not a request", req.Type, req.Src)
	}
	if flags&FlagError != 0 && mm.stopped {
		// The manager no longer sends; answer as plaintext error directly.
		m := NewMessage(len(payload))
		copy(m.buf, payload)
		m.Header = Header{Src: mm.self.ID, Dst: req.Src, Type: TypeResponse, Flags: FlagError, Session: req.Session, Len: uint32(len(payload))}
		return mm.enqueue(m, block)
	}
	return mm.post(req.Src, TypeResponse, flags, req.Session, payload, block)
}
