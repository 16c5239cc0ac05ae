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
	if err := mm.post(dst, TypeRequest, 0, session, nil, payload, true); err != nil {
		delete(mm.pending, session)
		return err
	}
	return nil
}

// Call sends a request and waits for its response (the thesis's async put
// followed by a blocking getResponse, Listing 4.5). While it waits the
// agent's other tasks run. The returned payload is a copy the caller owns.
func (mm *Manager) Call(ctx context.Context, dst AgentID, payload []byte) ([]byte, error) {
	c := mm.newCall()
	mm.nextSession++
	session := mm.nextSession
	mm.pending[session] = c.done
	if err := mm.post(dst, TypeRequest, 0, session, nil, payload, true); err != nil {
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
	return mm.post(req.Src, TypeResponse, flags, req.Session, nil, payload, block)
}
