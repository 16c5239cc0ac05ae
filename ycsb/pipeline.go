package ycsb

import (
	"time"
)

// A pipelined client is the thesis's asynchronous client (Listing 4.5:
// send now, collect later) driving YCSB: one client with up to a window
// of transactions outstanding at once, each transaction behaving as a
// YCSB thread's would (one call at a time, a read-modify-write's update
// only after its read). The generators, the operation mix, the key choice
// and the records are those of the blocking client; only who waits
// differs. The driver (an event loop, not a goroutine per call) takes a
// call from Next, sends it, and hands its outcome to Done; latency runs
// from Next to Done, so it includes the time a call spends queued behind
// others in the window.

// Call is one database call of a pipelined client.
type Call struct {
	Op    Op     // OpRead, OpInsert or OpUpdate
	Key   []byte // the record key; valid until the call is done
	Value []byte // the record (inserts and updates); valid as Key

	txn    Op        // the transaction the call belongs to
	begin  time.Time // the transaction's start
	sent   time.Time // this call's start
	keynum int64     // the record number
	ack    bool      // a run-phase insert: acknowledge keynum when done
	read   Status    // a read-modify-write's read status, once known
	busy   bool
	slot   int
	keyBuf []byte // Key's and Value's memory, kept with the slot
	valBuf []byte
}

// What a call carries besides its key.
type valueKind uint8

const (
	noValue   valueKind = iota
	allFields           // a record with every field (inserts, writeallfields)
	oneField            // a record with one random field (updates)
)

func (c *client) update() valueKind {
	if c.w.WriteAllFields {
		return allFields
	}
	return oneField
}

// Pipeline is one pipelined client of a Plan. It is not safe for
// concurrent use: one event loop drives it.
type Pipeline struct {
	p       *Plan
	c       *client
	calls   []Call
	free    []int
	start   time.Time
	started int64 // transactions begun
	closed  bool
}

// MaxWindow bounds a pipelined client's window.
const MaxWindow = 4096

// Pipeline starts client i's share of the phase as a pipelined client
// with at most window transactions outstanding. Like RunClient, each
// client runs once; call Close when done.
func (p *Plan) Pipeline(i, window int) (*Pipeline, error) {
	if window < 1 || window > MaxWindow {
		return nil, badf("window %d (want 1..%d)", window, MaxWindow)
	}
	c, now, err := p.claim(i)
	if err != nil {
		return nil, err
	}
	q := &Pipeline{p: p, c: c, calls: make([]Call, window), start: now}
	for k := window - 1; k >= 0; k-- {
		q.free = append(q.free, k)
	}
	return q, nil
}

// Outstanding is the number of calls sent and not yet done.
func (q *Pipeline) Outstanding() int { return len(q.calls) - len(q.free) }

// Finished reports whether every transaction of the client's share has
// ended.
func (q *Pipeline) Finished() bool { return q.c.count == q.c.todo }

// Next begins the next transaction if the window has room, and returns
// its first call for the driver to send now. A nil call means none can
// begin now: with a positive wait the throttle (the plan's Target) holds
// the next one back that long; with zero wait the window is full or every
// transaction has begun. Scans end at once as NOT_IMPLEMENTED, as in the
// blocking client, and are never returned.
func (q *Pipeline) Next(now time.Time) (*Call, time.Duration) {
	c := q.c
	for {
		if q.closed || q.started == c.todo || len(q.free) == 0 {
			return nil, 0
		}
		if c.tick > 0 {
			// YCSB's throttle: transaction i may not begin before start+i*tick.
			if wait := q.start.Add(time.Duration(q.started) * c.tick).Sub(now); wait > 0 {
				return nil, wait
			}
		}
		q.started++
		if c.phase == PhaseLoad {
			n := c.next
			c.next++
			return q.issue(OpInsert, OpInsert, now, n, false, allFields), 0
		}
		switch op := c.ops.next(c.rnd); op {
		case OpRead:
			return q.issue(OpRead, OpRead, now, c.nextKeynum(), false, noValue), 0
		case OpUpdate:
			return q.issue(OpUpdate, OpUpdate, now, c.nextKeynum(), false, c.update()), 0
		case OpInsert:
			return q.issue(OpInsert, OpInsert, now, c.acks.Next(c.rnd), true, allFields), 0
		case OpReadModifyWrite:
			return q.issue(OpRead, OpReadModifyWrite, now, c.nextKeynum(), false, noValue), 0
		default: // OpScan
			c.m.record(OpScan, 0, StatusNotImplemented)
			q.finish()
		}
	}
}

// issue fills a free slot with a call.
func (q *Pipeline) issue(op, txn Op, now time.Time, keynum int64, ack bool, v valueKind) *Call {
	k := q.free[len(q.free)-1]
	q.free = q.free[:len(q.free)-1]
	call := &q.calls[k]
	*call = Call{
		Op: op, txn: txn, begin: now, keynum: keynum, ack: ack, busy: true, slot: k,
		keyBuf: call.keyBuf, valBuf: call.valBuf,
	}
	q.fill(call, now, v)
	return call
}

// fill makes call's key (and record, in the order the blocking client
// draws them) and starts it at now.
func (q *Pipeline) fill(call *Call, now time.Time, v valueKind) {
	c := q.c
	call.sent = now
	call.keyBuf = AppendKeyName(call.keyBuf[:0], call.keynum, c.w.ZeroPadding, c.w.OrderedInserts)
	call.Key, call.Value = call.keyBuf, nil
	if v != noValue {
		call.valBuf = c.appendRecord(call.valBuf[:0], v == allFields)
		call.Value = call.valBuf
	}
}

// Done records how call ended at now and frees it, or, for a
// read-modify-write's read, returns the update to send now in its place.
func (q *Pipeline) Done(call *Call, now time.Time, st Status) *Call {
	if !call.busy {
		panic("ycsb: Pipeline.Done on a call not outstanding")
	}
	c := q.c
	c.m.record(call.Op, now.Sub(call.sent), st)
	if call.txn == OpReadModifyWrite {
		if call.Op == OpRead {
			// As the blocking client: the update runs whatever the
			// read returned.
			call.Op, call.read = OpUpdate, st
			q.fill(call, now, c.update())
			return call
		}
		if call.read != StatusOK {
			st = call.read // the transaction fails if its read did
		}
		c.m.record(OpReadModifyWrite, now.Sub(call.begin), st)
	}
	if call.ack {
		c.acks.Acknowledge(call.keynum)
	}
	q.release(call)
	return nil
}

// Abandon ends call, which will never be answered (its connection
// failed), as an ERROR, and its transaction with it.
func (q *Pipeline) Abandon(call *Call, now time.Time) {
	if !call.busy {
		panic("ycsb: Pipeline.Abandon on a call not outstanding")
	}
	c := q.c
	c.m.record(call.Op, now.Sub(call.sent), StatusError)
	if call.txn == OpReadModifyWrite {
		c.m.record(OpReadModifyWrite, now.Sub(call.begin), StatusError)
	}
	q.release(call)
}

// release frees call's slot and counts its transaction as ended.
func (q *Pipeline) release(call *Call) {
	call.busy, call.Key, call.Value = false, nil, nil
	q.free = append(q.free, call.slot)
	q.finish()
}

// finish counts one ended transaction.
func (q *Pipeline) finish() {
	q.c.count++
	q.p.done.Add(1)
}

// Close ends the client: its time stops now, and a client that has not
// finished its share counts as interrupted (the calls still outstanding
// are not measured). Further Nexts return nothing.
func (q *Pipeline) Close() {
	if q.closed {
		return
	}
	q.closed = true
	end := time.Now()
	q.c.elapsed = end.Sub(q.start)
	if !q.Finished() {
		q.c.stopped = true
	}
	q.p.ended(end)
}
