package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/securecached/securecached/protocol"
)

// Item is a cache entry.
type Item struct {
	Key        string
	Value      []byte
	Flags      uint32 // opaque to the server; bit 30 is FlagCompressed
	Expiration int32  // memcached semantics: seconds, or a Unix time past 30 days; 0 = never; negative = expired at once
	CAS        uint64 // set by reads (and by binary/meta writes); non-zero makes CompareAndSwap conditional
}

// noAutoCreate, as a counter's expiration, tells the server to fail on a
// missing key instead of creating it.
const noAutoCreate = 0xffffffff

// withTimeout applies the client's default timeout when ctx has none.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

// start routes req's key, picks a connection and sends the request.
func (c *Client) start(ctx context.Context, req *request, o callOptions) (*Pending, error) {
	s, err := c.pick(req.key, o)
	if err != nil {
		return nil, err
	}
	return c.startOn(ctx, s, req)
}

func (c *Client) startOn(ctx context.Context, s *server, req *request) (*Pending, error) {
	cn, err := s.getConn(ctx)
	if err != nil {
		return nil, err
	}
	cl, err := cn.send(ctx, req)
	if err != nil {
		s.failure(err)
		return nil, err
	}
	return &Pending{srv: s, conn: cn, call: cl}, nil
}

// Pending is a request that has been sent and whose response has not been
// collected: the asynchronous form of the thesis's Listing 4.5. Any number
// may be outstanding on one connection (pipelining).
type Pending struct {
	srv  *server
	conn *conn
	call *call
	// decode turns the responses into the call's result.
	decode func([]protocol.BinResponse) (*Item, error)
	done   bool
	item   *Item
	err    error
}

// Wait blocks until the response arrives or ctx ends, and returns the
// call's item (for reads) and error. Waiting again returns the same result.
// A Pending must not be waited on from two goroutines at once.
func (p *Pending) Wait(ctx context.Context) (*Item, error) {
	if p.done {
		return p.item, p.err
	}
	resps, err := p.conn.wait(ctx, p.call)
	if err != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			p.srv.failure(err)
		}
		return nil, err
	}
	p.srv.success()
	p.done = true
	p.item, p.err = p.decode(resps)
	return p.item, p.err
}

func syncWait(ctx context.Context, p *Pending, err error) (*Item, error) {
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// send starts req and installs a decoder that maps the first response's
// status to an error.
func (c *Client) send(ctx context.Context, req *request, o callOptions, notStoredOnMiss, existsIsCAS bool) (*Pending, error) {
	p, err := c.start(ctx, req, o)
	if err != nil {
		return nil, err
	}
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		return nil, statusErr(p.srv.cfg.Addr, rs[0], notStoredOnMiss, existsIsCAS)
	}
	return p, nil
}

// GetAsync sends a get for key; Wait returns the item or ErrCacheMiss.
func (c *Client) GetAsync(ctx context.Context, key string, opts ...CallOption) (*Pending, error) {
	return c.getLike(ctx, &request{op: protocol.OpGetK, key: key}, collect(opts))
}

func (c *Client) getLike(ctx context.Context, req *request, o callOptions) (*Pending, error) {
	p, err := c.start(ctx, req, o)
	if err != nil {
		return nil, err
	}
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		if err := statusErr(p.srv.cfg.Addr, rs[0], false, false); err != nil {
			return nil, err
		}
		return c.itemFrom(req.key, rs[0])
	}
	return p, nil
}

func (c *Client) itemFrom(key string, r protocol.BinResponse) (*Item, error) {
	value, flags, err := decompress(r.Value, protocol.BinFlags(r), c.cfg.MaxValueSize)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", key, err)
	}
	return &Item{Key: key, Value: value, Flags: flags, CAS: r.Header.Cas}, nil
}

// wait is the synchronous form of an asynchronous call: it sends with the
// client's timeout and waits for the result.
func (c *Client) wait(ctx context.Context, async func(context.Context) (*Pending, error)) (*Item, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	p, err := async(ctx)
	return syncWait(ctx, p, err)
}

// Get returns the item for key, or ErrCacheMiss.
func (c *Client) Get(ctx context.Context, key string, opts ...CallOption) (*Item, error) {
	return c.wait(ctx, func(ctx context.Context) (*Pending, error) { return c.GetAsync(ctx, key, opts...) })
}

// GetAndTouchAsync sends a gat; Wait returns the item or ErrCacheMiss.
func (c *Client) GetAndTouchAsync(ctx context.Context, key string, exp int32, opts ...CallOption) (*Pending, error) {
	return c.getLike(ctx, &request{op: protocol.OpGATK, key: key, exptime: exp}, collect(opts))
}

// GetAndTouch (gat) returns the item for key and sets its expiration.
func (c *Client) GetAndTouch(ctx context.Context, key string, exp int32, opts ...CallOption) (*Item, error) {
	return c.wait(ctx, func(ctx context.Context) (*Pending, error) { return c.GetAndTouchAsync(ctx, key, exp, opts...) })
}

// storeAsync sends a storage command for it; Wait updates it.CAS when the
// protocol reports one.
func (c *Client) storeAsync(ctx context.Context, op uint8, it *Item, cas uint64, opts []CallOption) (*Pending, error) {
	threshold := c.cfg.CompressThreshold
	if op == protocol.OpAppend || op == protocol.OpPrepend {
		threshold = 0 // they extend bytes the server holds, which must stay raw
	}
	value, flags, err := compress(it.Value, it.Flags, threshold)
	if err != nil {
		return nil, err
	}
	req := &request{op: op, key: it.Key, value: value, flags: flags, exptime: it.Expiration, cas: cas}
	p, err := c.start(ctx, req, collect(opts))
	if err != nil {
		return nil, err
	}
	notStoredOnMiss := op == protocol.OpReplace || op == protocol.OpAppend || op == protocol.OpPrepend
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		err := statusErr(p.srv.cfg.Addr, rs[0], notStoredOnMiss, cas != 0)
		if err == nil && rs[0].Header.Cas != 0 {
			it.CAS = rs[0].Header.Cas
		}
		return nil, err
	}
	return p, nil
}

// errOnly is the synchronous form of a call whose result is its error.
func (c *Client) errOnly(ctx context.Context, async func(context.Context) (*Pending, error)) error {
	_, err := c.wait(ctx, async)
	return err
}

// SetAsync sends a set; Wait returns its error.
func (c *Client) SetAsync(ctx context.Context, it *Item, opts ...CallOption) (*Pending, error) {
	return c.storeAsync(ctx, protocol.OpSet, it, 0, opts)
}

// Set stores it unconditionally.
func (c *Client) Set(ctx context.Context, it *Item, opts ...CallOption) error {
	return c.errOnly(ctx, func(ctx context.Context) (*Pending, error) { return c.SetAsync(ctx, it, opts...) })
}

// AddAsync sends an add; Wait returns ErrNotStored if the key was present.
func (c *Client) AddAsync(ctx context.Context, it *Item, opts ...CallOption) (*Pending, error) {
	return c.storeAsync(ctx, protocol.OpAdd, it, 0, opts)
}

// Add stores it only if its key is absent; otherwise ErrNotStored.
func (c *Client) Add(ctx context.Context, it *Item, opts ...CallOption) error {
	return c.errOnly(ctx, func(ctx context.Context) (*Pending, error) { return c.AddAsync(ctx, it, opts...) })
}

// ReplaceAsync sends a replace; Wait returns ErrNotStored if the key was
// absent.
func (c *Client) ReplaceAsync(ctx context.Context, it *Item, opts ...CallOption) (*Pending, error) {
	return c.storeAsync(ctx, protocol.OpReplace, it, 0, opts)
}

// Replace stores it only if its key is present; otherwise ErrNotStored.
func (c *Client) Replace(ctx context.Context, it *Item, opts ...CallOption) error {
	return c.errOnly(ctx, func(ctx context.Context) (*Pending, error) { return c.ReplaceAsync(ctx, it, opts...) })
}

// AppendAsync sends an append; Wait returns ErrNotStored if the key was
// absent. The bytes are appended uncompressed, so do not append to a value
// stored compressed.
func (c *Client) AppendAsync(ctx context.Context, it *Item, opts ...CallOption) (*Pending, error) {
	raw := *it
	raw.Flags = 0
	return c.storeAsync(ctx, protocol.OpAppend, &raw, 0, opts)
}

// Append adds it.Value after the stored value; ErrNotStored when absent.
func (c *Client) Append(ctx context.Context, it *Item, opts ...CallOption) error {
	return c.errOnly(ctx, func(ctx context.Context) (*Pending, error) { return c.AppendAsync(ctx, it, opts...) })
}

// PrependAsync sends a prepend; see AppendAsync.
func (c *Client) PrependAsync(ctx context.Context, it *Item, opts ...CallOption) (*Pending, error) {
	raw := *it
	raw.Flags = 0
	return c.storeAsync(ctx, protocol.OpPrepend, &raw, 0, opts)
}

// Prepend adds it.Value before the stored value; ErrNotStored when absent.
func (c *Client) Prepend(ctx context.Context, it *Item, opts ...CallOption) error {
	return c.errOnly(ctx, func(ctx context.Context) (*Pending, error) { return c.PrependAsync(ctx, it, opts...) })
}

// CompareAndSwapAsync sends a set conditional on it.CAS; Wait returns
// ErrCASConflict if the item changed and ErrCacheMiss if it is gone.
func (c *Client) CompareAndSwapAsync(ctx context.Context, it *Item, opts ...CallOption) (*Pending, error) {
	if it.CAS == 0 {
		return nil, fmt.Errorf("memcache: CompareAndSwap of %q without a CAS value", it.Key)
	}
	return c.storeAsync(ctx, protocol.OpSet, it, it.CAS, opts)
}

// CompareAndSwap stores it only if the stored item's CAS still equals
// it.CAS: ErrCASConflict if it changed, ErrCacheMiss if it is gone.
func (c *Client) CompareAndSwap(ctx context.Context, it *Item, opts ...CallOption) error {
	return c.errOnly(ctx, func(ctx context.Context) (*Pending, error) { return c.CompareAndSwapAsync(ctx, it, opts...) })
}

// DeleteAsync sends a delete; Wait returns ErrCacheMiss if key was absent.
func (c *Client) DeleteAsync(ctx context.Context, key string, opts ...CallOption) (*Pending, error) {
	return c.send(ctx, &request{op: protocol.OpDelete, key: key}, collect(opts), false, false)
}

// Delete removes key; ErrCacheMiss if it was absent.
func (c *Client) Delete(ctx context.Context, key string, opts ...CallOption) error {
	return c.errOnly(ctx, func(ctx context.Context) (*Pending, error) { return c.DeleteAsync(ctx, key, opts...) })
}

// TouchAsync sends a touch; Wait returns ErrCacheMiss if key was absent.
func (c *Client) TouchAsync(ctx context.Context, key string, exp int32, opts ...CallOption) (*Pending, error) {
	return c.send(ctx, &request{op: protocol.OpTouch, key: key, exptime: exp}, collect(opts), false, false)
}

// Touch sets key's expiration; ErrCacheMiss if it is absent.
func (c *Client) Touch(ctx context.Context, key string, exp int32, opts ...CallOption) error {
	return c.errOnly(ctx, func(ctx context.Context) (*Pending, error) { return c.TouchAsync(ctx, key, exp, opts...) })
}

// IncrementAsync sends an incr. Wait returns ErrCacheMiss if key is
// absent, ErrNonNumeric if its value is not a number, and otherwise the
// item as the server now holds it: the new value in decimal, and its CAS.
func (c *Client) IncrementAsync(ctx context.Context, key string, delta uint64, opts ...CallOption) (*Pending, error) {
	return c.counterAsync(ctx, protocol.OpIncrement, key, delta, opts)
}

// DecrementAsync sends a decr (which stops at 0); see IncrementAsync.
func (c *Client) DecrementAsync(ctx context.Context, key string, delta uint64, opts ...CallOption) (*Pending, error) {
	return c.counterAsync(ctx, protocol.OpDecrement, key, delta, opts)
}

// Increment adds delta to key's decimal value and returns the result;
// ErrCacheMiss if key is absent, ErrNonNumeric if it is not a number.
func (c *Client) Increment(ctx context.Context, key string, delta uint64, opts ...CallOption) (uint64, error) {
	return c.counter(ctx, func(ctx context.Context) (*Pending, error) { return c.IncrementAsync(ctx, key, delta, opts...) })
}

// Decrement subtracts delta from key's value, stopping at 0.
func (c *Client) Decrement(ctx context.Context, key string, delta uint64, opts ...CallOption) (uint64, error) {
	return c.counter(ctx, func(ctx context.Context) (*Pending, error) { return c.DecrementAsync(ctx, key, delta, opts...) })
}

func (c *Client) counterAsync(ctx context.Context, op uint8, key string, delta uint64, opts []CallOption) (*Pending, error) {
	p, err := c.start(ctx, &request{op: op, key: key, delta: delta}, collect(opts))
	if err != nil {
		return nil, err
	}
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		if err := statusErr(p.srv.cfg.Addr, rs[0], false, false); err != nil {
			return nil, err
		}
		v, err := protocol.BinCounterValue(rs[0])
		if err != nil {
			return nil, err
		}
		return &Item{Key: key, Value: strconv.AppendUint(nil, v, 10), CAS: rs[0].Header.Cas}, nil
	}
	return p, nil
}

func (c *Client) counter(ctx context.Context, async func(context.Context) (*Pending, error)) (uint64, error) {
	it, err := c.wait(ctx, async)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(string(it.Value), 10, 64)
}
