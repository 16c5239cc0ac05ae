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

// Call sends a request and waits for its response (the thesis's async put
// followed by a blocking getResponse, Listing 4.5). While it waits the
// agent's other tasks run. The returned payload is a copy the caller owns.
func (mm *Manager) Call(ctx context.Context, dst AgentID, payload []byte) ([]byte, error) {
	var pk parker
	var out []byte
	var rerr error
	answered := false
	mm.nextSession++
	session := mm.nextSession
	mm.pending[session] = func(resp *Message, err error) {
		if err == nil {
			out = append([]byte(nil), resp.Payload()...)
		}
		rerr = err
		answered = true
		mm.sched.unpark(&pk)
	}
	if err := mm.post(dst, TypeRequest, 0, session, payload, true); err != nil {
		delete(mm.pending, session)
		return nil, err
	}
	mm.sched.park(&pk, ctx.Done())
	if answered {
		return out, rerr
	}
	delete(mm.pending, session) // a late response is dropped
	cause := ctx.Err()
	if cause == nil {
		cause = ErrStopped
	}
	return nil, fmt.Errorf("call %s: %w", dst, cause)
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
