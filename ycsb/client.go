package ycsb

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// client is one YCSB client goroutine's state. Only the key sequences are
// shared between clients.
type client struct {
	w       *Workload
	db      DB
	phase   Phase
	rnd     *rand.Rand
	keys    Generator // run phase request distribution
	lengths Generator
	ops     opChooser
	acks    *AckCounter
	next    int64 // load phase: next record number
	todo    int64
	tick    time.Duration // 0 = unthrottled

	m       measurements
	count   int64
	elapsed time.Duration
	stopped bool

	key    []byte
	value  []byte
	fields []int
}

func (c *client) run(ctx context.Context, done *atomic.Int64) {
	start := time.Now()
	defer func() { c.elapsed = time.Since(start) }()
	for i := int64(0); i < c.todo; i++ {
		if ctx.Err() != nil {
			c.stopped = true
			return
		}
		if c.tick > 0 {
			// YCSB's throttle: operation i may not start before start+i*tick.
			if wait := time.Until(start.Add(time.Duration(i) * c.tick)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					c.stopped = true
					return
				case <-t.C:
				}
			}
		}
		if c.phase == PhaseLoad {
			c.insert(ctx, c.next)
			c.next++
		} else {
			c.transaction(ctx)
		}
		c.count++
		done.Add(1)
	}
}

func (c *client) keyName(n int64) string {
	c.key = AppendKeyName(c.key[:0], n, c.w.ZeroPadding, c.w.OrderedInserts)
	return string(c.key)
}

// nextKeynum is CoreWorkload.nextKeynum: draw until the key exists.
func (c *client) nextKeynum() int64 {
	if _, ok := c.keys.(*Exponential); ok {
		for {
			if k := c.acks.Last() - c.keys.Next(c.rnd); k >= 0 {
				return k
			}
		}
	}
	for {
		if k := c.keys.Next(c.rnd); k <= c.acks.Last() {
			return k
		}
	}
}

func (c *client) record(all bool) []byte {
	c.value = c.appendRecord(c.value[:0], all)
	return c.value
}

// appendRecord appends a new record to dst: every field, or one at random.
func (c *client) appendRecord(dst []byte, all bool) []byte {
	c.fields = c.fields[:0]
	if all {
		for i := range c.w.FieldCount {
			c.fields = append(c.fields, i)
		}
	} else {
		c.fields = append(c.fields, c.rnd.IntN(c.w.FieldCount))
	}
	return c.w.appendRecord(dst, c.rnd, c.lengths, c.fields)
}

func status(err error) Status {
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, ErrNotFound):
		return StatusNotFound
	}
	return StatusError
}

func (c *client) insert(ctx context.Context, n int64) {
	key, value := c.keyName(n), c.record(true)
	t := time.Now()
	err := c.db.Insert(ctx, key, value)
	c.m.record(OpInsert, time.Since(t), status(err))
}

func (c *client) transaction(ctx context.Context) {
	switch op := c.ops.next(c.rnd); op {
	case OpRead:
		key := c.keyName(c.nextKeynum())
		t := time.Now()
		_, err := c.db.Read(ctx, key)
		c.m.record(OpRead, time.Since(t), status(err))
	case OpUpdate:
		key, value := c.keyName(c.nextKeynum()), c.record(c.w.WriteAllFields)
		t := time.Now()
		err := c.db.Update(ctx, key, value)
		c.m.record(OpUpdate, time.Since(t), status(err))
	case OpInsert:
		n := c.acks.Next(c.rnd)
		c.insert(ctx, n)
		c.acks.Acknowledge(n)
	case OpScan:
		// memcached has no ordered key space; YCSB's memcached binding
		// answers scans with NOT_IMPLEMENTED, and so do we.
		c.m.record(OpScan, 0, StatusNotImplemented)
	case OpReadModifyWrite:
		// As in YCSB, the read and the update are each measured under their
		// own names too, and the update runs whatever the read returned.
		key, value := c.keyName(c.nextKeynum()), c.record(c.w.WriteAllFields)
		t := time.Now()
		_, rerr := c.db.Read(ctx, key)
		t2 := time.Now()
		c.m.record(OpRead, t2.Sub(t), status(rerr))
		uerr := c.db.Update(ctx, key, value)
		t3 := time.Now()
		c.m.record(OpUpdate, t3.Sub(t2), status(uerr))
		c.m.record(OpReadModifyWrite, t3.Sub(t), status(cmp.Or(rerr, uerr)))
	}
}
