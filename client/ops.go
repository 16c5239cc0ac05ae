package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/securecached/securecached/protocol"
)

// Item is a cache entry.
type Item struct {
	Key        string
	Value      []byte
	Flags      uint32 // opaque to the server; bit 30 is FlagCompressed
	Expiration int32  // memcached semantics: seconds, or a Unix time past 30 days; 0 = never
	CAS        uint64 // set by reads; a non-zero CAS makes CompareAndSwap conditional
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

// start routes key, picks a connection and sends the request.
func (c *Client) start(ctx context.Context, key string, o callOptions, last func(protocol.BinResponse) bool, build func([]byte, uint32) []byte) (*Pending, error) {
	s, err := c.pick(key, o)
	if err != nil {
		return nil, err
	}
	return c.startOn(ctx, s, last, build)
}

func (c *Client) startOn(ctx context.Context, s *server, last func(protocol.BinResponse) bool, build func([]byte, uint32) []byte) (*Pending, error) {
	cn, err := s.getConn(ctx)
	if err != nil {
		return nil, err
	}
	cl, err := cn.send(ctx, last, build)
	if err != nil {
		s.failure(err)
		return nil, err
	}
	return &Pending{c: c, srv: s, conn: cn, call: cl}, nil
}

// Pending is a request that has been sent and whose response has not been
// collected: the asynchronous form of the thesis's Listing 4.5. Any number
// may be outstanding on one connection (pipelining).
type Pending struct {
	c    *Client
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

func (c *Client) sync(ctx context.Context, p *Pending, err error) (*Item, error) {
	if err != nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// GetAsync sends a get for key; Wait returns the item or ErrCacheMiss.
func (c *Client) GetAsync(ctx context.Context, key string, opts ...CallOption) (*Pending, error) {
	return c.getLike(ctx, key, protocol.OpGetK, false, 0, collect(opts))
}

func (c *Client) getLike(ctx context.Context, key string, op uint8, withExp bool, exp int32, o callOptions) (*Pending, error) {
	p, err := c.start(ctx, key, o, nil, func(dst []byte, opaque uint32) []byte {
		if withExp {
			return protocol.AppendBinExptime(dst, op, opaque, []byte(key), uint32(exp))
		}
		return protocol.AppendBinRequest(dst, op, opaque, 0, nil, []byte(key), nil)
	})
	if err != nil {
		return nil, err
	}
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		if err := statusErr(p.srv.cfg.Addr, rs[0], false, false); err != nil {
			return nil, err
		}
		return c.itemFrom(key, rs[0])
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

// Get returns the item for key, or ErrCacheMiss.
func (c *Client) Get(ctx context.Context, key string, opts ...CallOption) (*Item, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	p, err := c.GetAsync(ctx, key, opts...)
	return c.sync(ctx, p, err)
}

// GetAndTouch (gat) returns the item for key and sets its expiration.
func (c *Client) GetAndTouch(ctx context.Context, key string, exp int32, opts ...CallOption) (*Item, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	p, err := c.getLike(ctx, key, protocol.OpGATK, true, exp, collect(opts))
	return c.sync(ctx, p, err)
}

// storeAsync sends a storage command for it.
func (c *Client) storeAsync(ctx context.Context, op uint8, it *Item, o callOptions) (*Pending, error) {
	threshold := c.cfg.CompressThreshold
	if op == protocol.OpAppend || op == protocol.OpPrepend {
		threshold = 0 // they extend bytes the server holds, which must stay raw
	}
	value, flags, err := compress(it.Value, it.Flags, threshold)
	if err != nil {
		return nil, err
	}
	cas := it.CAS
	if op != protocol.OpSet {
		// Only set takes a CAS here; CompareAndSwap is a set with one.
		cas = 0
	}
	key := it.Key
	p, err := c.start(ctx, key, o, nil, func(dst []byte, opaque uint32) []byte {
		if op == protocol.OpAppend || op == protocol.OpPrepend {
			return protocol.AppendBinRequest(dst, op, opaque, 0, nil, []byte(key), value)
		}
		return protocol.AppendBinStore(dst, op, opaque, cas, flags, uint32(it.Expiration), []byte(key), value)
	})
	if err != nil {
		return nil, err
	}
	notStoredOnMiss := op == protocol.OpReplace || op == protocol.OpAppend || op == protocol.OpPrepend
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		err := statusErr(p.srv.cfg.Addr, rs[0], notStoredOnMiss, cas != 0)
		if err == nil {
			it.CAS = rs[0].Header.Cas
		}
		return nil, err
	}
	return p, nil
}

func (c *Client) store(ctx context.Context, op uint8, it *Item, opts []CallOption) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	p, err := c.storeAsync(ctx, op, it, collect(opts))
	_, err = c.sync(ctx, p, err)
	return err
}

// SetAsync sends a set; Wait returns its error. The item's CAS is updated
// on success.
func (c *Client) SetAsync(ctx context.Context, it *Item, opts ...CallOption) (*Pending, error) {
	plain := *it
	plain.CAS = 0
	return c.storeAsync(ctx, protocol.OpSet, &plain, collect(opts))
}

// Set stores it unconditionally.
func (c *Client) Set(ctx context.Context, it *Item, opts ...CallOption) error {
	plain := *it
	plain.CAS = 0
	err := c.store(ctx, protocol.OpSet, &plain, opts)
	it.CAS = plain.CAS
	return err
}

// Add stores it only if its key is absent; otherwise ErrNotStored.
func (c *Client) Add(ctx context.Context, it *Item, opts ...CallOption) error {
	return c.store(ctx, protocol.OpAdd, it, opts)
}

// Replace stores it only if its key is present; otherwise ErrNotStored.
func (c *Client) Replace(ctx context.Context, it *Item, opts ...CallOption) error {
	return c.store(ctx, protocol.OpReplace, it, opts)
}

// Append adds it.Value after the stored value; ErrNotStored when absent.
// The bytes are appended uncompressed, so do not append to a value stored
// compressed.
func (c *Client) Append(ctx context.Context, it *Item, opts ...CallOption) error {
	raw := *it
	raw.Flags = 0
	return c.store(ctx, protocol.OpAppend, &raw, opts)
}

// Prepend adds it.Value before the stored value; ErrNotStored when absent.
func (c *Client) Prepend(ctx context.Context, it *Item, opts ...CallOption) error {
	raw := *it
	raw.Flags = 0
	return c.store(ctx, protocol.OpPrepend, &raw, opts)
}

// CompareAndSwap stores it only if the stored item's CAS still equals
// it.CAS: ErrCASConflict if it changed, ErrCacheMiss if it is gone.
func (c *Client) CompareAndSwap(ctx context.Context, it *Item, opts ...CallOption) error {
	if it.CAS == 0 {
		return fmt.Errorf("memcache: CompareAndSwap of %q without a CAS value", it.Key)
	}
	return c.store(ctx, protocol.OpSet, it, opts)
}

// DeleteAsync sends a delete; Wait returns ErrCacheMiss if key was absent.
func (c *Client) DeleteAsync(ctx context.Context, key string, opts ...CallOption) (*Pending, error) {
	p, err := c.start(ctx, key, collect(opts), nil, func(dst []byte, opaque uint32) []byte {
		return protocol.AppendBinRequest(dst, protocol.OpDelete, opaque, 0, nil, []byte(key), nil)
	})
	if err != nil {
		return nil, err
	}
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		return nil, statusErr(p.srv.cfg.Addr, rs[0], false, false)
	}
	return p, nil
}

// Delete removes key; ErrCacheMiss if it was absent.
func (c *Client) Delete(ctx context.Context, key string, opts ...CallOption) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	p, err := c.DeleteAsync(ctx, key, opts...)
	_, err = c.sync(ctx, p, err)
	return err
}

// Touch sets key's expiration; ErrCacheMiss if it is absent.
func (c *Client) Touch(ctx context.Context, key string, exp int32, opts ...CallOption) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	p, err := c.start(ctx, key, collect(opts), nil, func(dst []byte, opaque uint32) []byte {
		return protocol.AppendBinExptime(dst, protocol.OpTouch, opaque, []byte(key), uint32(exp))
	})
	if err != nil {
		return err
	}
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		return nil, statusErr(p.srv.cfg.Addr, rs[0], false, false)
	}
	_, err = p.Wait(ctx)
	return err
}

// Increment adds delta to key's decimal value and returns the result;
// ErrCacheMiss if key is absent, ErrNonNumeric if it is not a number.
func (c *Client) Increment(ctx context.Context, key string, delta uint64, opts ...CallOption) (uint64, error) {
	return c.counter(ctx, protocol.OpIncrement, key, delta, opts)
}

// Decrement subtracts delta from key's value, stopping at 0.
func (c *Client) Decrement(ctx context.Context, key string, delta uint64, opts ...CallOption) (uint64, error) {
	return c.counter(ctx, protocol.OpDecrement, key, delta, opts)
}

func (c *Client) counter(ctx context.Context, op uint8, key string, delta uint64, opts []CallOption) (uint64, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var v uint64
	p, err := c.start(ctx, key, collect(opts), nil, func(dst []byte, opaque uint32) []byte {
		return protocol.AppendBinCounter(dst, op, opaque, []byte(key), delta, 0, noAutoCreate)
	})
	if err != nil {
		return 0, err
	}
	p.decode = func(rs []protocol.BinResponse) (*Item, error) {
		if err := statusErr(p.srv.cfg.Addr, rs[0], false, false); err != nil {
			return nil, err
		}
		var err error
		v, err = protocol.BinCounterValue(rs[0])
		return nil, err
	}
	_, err = p.Wait(ctx)
	return v, err
}
