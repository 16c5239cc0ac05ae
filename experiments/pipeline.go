package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/netconn"
	"github.com/securecached/securecached/diggi/posix"
	"github.com/securecached/securecached/ketama"
	"github.com/securecached/securecached/ycsb"
)

// The pipelined model: a client agent drives one YCSB client with a window
// of transactions outstanding (ycsb.Pipeline) from its own event loop, on
// a raw Diggi socket (diggi/posix), the way the cache agent serves: no
// goroutine per call and no baton hand-off per call. Each time responses
// arrive it parses all of them, checks each against the request it
// answers (pipeCodec), starts a new transaction for every one that ended
// and sends all the new requests in one write, so one Diggi message
// carries many operations each way.

// With several cache agents the client keeps one socket to each (a leg)
// and sends each call to the agent the client library's ketama ring names
// for its key, so the pipelined model spreads keys exactly as the YCSB
// model does; the window spans all legs.

// minRead is the free space the receive buffer keeps for one read: one
// Diggi data chunk.
const minRead = 32 << 10

// pipeRun is one pipelined share of a phase. Apart from runPipelined,
// which starts and awaits it, it runs under the agent's baton.
type pipeRun struct {
	a       *ClientAgent
	sys     *posix.Sys
	q       *ycsb.Pipeline
	legs    []*pipeLeg
	ring    ketama.Picker // nil with one leg
	prefix  []byte        // "TABLE-": the key the ring hashes, as memcachedb stores it
	key     []byte        // scratch for prefix+key
	timeout time.Duration

	throttle func() // cancels the pending throttle timer, if any
	watch    func() // cancels the watchdog
	progress time.Time
	ended    bool
	done     chan error // gets the outcome once
}

// pipeLeg is the run's socket to one cache agent, with the calls in
// flight on it (its codec) and its buffers.
type pipeLeg struct {
	r        *pipeRun
	fd       int
	codec    *pipeCodec
	rev, wev posix.Event
	in       []byte // received; in[inOff:] is not parsed yet
	inOff    int
	out      []byte // requests; out[outOff:] is not written yet
	outOff   int
}

// errStalled is a pipelined run's error when the cache answers nothing
// for a whole timeout while calls are outstanding.
var errStalled = errors.New("experiments: no response within the timeout")

// runPipelined runs client i of plan as a pipelined client with window
// transactions outstanding. It is called on a goroutine of the harness,
// never under the baton.
func (a *ClientAgent) runPipelined(ctx context.Context, plan *ycsb.Plan, i, window int, w *ycsb.Workload, table string) error {
	r := &pipeRun{a: a, sys: a.sys, timeout: a.timeout, prefix: []byte(table + "-"), done: make(chan error, 1)}
	if len(a.servers) > 1 {
		// The ring the client library builds for these servers
		// (client.Ketama, the default distribution).
		list := make([]ketama.Server, len(a.servers))
		for k, s := range a.servers {
			list[k] = ketama.Server{Addr: s.Addr, Weight: s.Weight}
		}
		ring, err := ketama.NewRing(list)
		if err != nil {
			return fmt.Errorf("client agent %s: %w", a.ctx.Info(), err)
		}
		r.ring = ring
	}
	for _, s := range a.servers {
		fd, err := a.dialRaw(ctx, s.Addr)
		if err != nil {
			// The sockets dialed so far close under the baton, as every
			// posix call.
			_ = a.ctx.Scheduler().Run(r.closeLegs)
			return err
		}
		r.legs = append(r.legs, &pipeLeg{r: r, fd: fd, codec: newPipeCodec(w, table, window), in: make([]byte, 0, 2*minRead)})
	}
	sched := a.ctx.Scheduler()
	if err := sched.Run(func() { r.begin(plan, i, window) }); err != nil {
		return fmt.Errorf("client agent %s: %w", a.ctx.Info(), err)
	}
	var err error
	select {
	case err = <-r.done:
	case <-sched.Done():
		// The agent stopped under the run (its sockets are closed).
		return fmt.Errorf("client agent %s: %w", a.ctx.Info(), diggi.ErrStopped)
	case <-ctx.Done():
		// Stopped early, as the blocking client stops between calls: the
		// result says interrupted (and Execute says why, unless it was
		// the workload's maxexecutiontime); calls in flight count as
		// errors, as a blocking call cut short does.
		if rerr := sched.Run(func() { r.end(nil) }); rerr != nil {
			return fmt.Errorf("client agent %s: %w", a.ctx.Info(), rerr)
		}
		err = <-r.done
	}
	if err != nil {
		return fmt.Errorf("client agent %s: pipelined client %d: %w", a.ctx.Info(), i, err)
	}
	return nil
}

// closeLegs closes the sockets dialed so far, for a run that never began;
// under the baton.
func (r *pipeRun) closeLegs() {
	for _, l := range r.legs {
		_ = r.sys.Close(l.fd)
	}
}

// dialRaw connects a non-blocking socket to the cache agent at addr,
// within the agent's call timeout.
func (a *ClientAgent) dialRaw(ctx context.Context, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	fd, err := netconn.DialFD(ctx, a.sys, addr)
	if err != nil {
		return -1, fmt.Errorf("client agent %s: %w", a.ctx.Info(), err)
	}
	return fd, nil
}

// begin starts the client: the first window of requests, the read events
// and the watchdog.
func (r *pipeRun) begin(plan *ycsb.Plan, i, window int) {
	q, err := plan.Pipeline(i, window)
	if err != nil {
		r.closeLegs()
		r.ended = true
		r.done <- err
		return
	}
	r.q = q
	r.progress = time.Now()
	for _, l := range r.legs {
		r.sys.EventSet(&l.rev, l.fd, posix.EvRead|posix.EvPersist, l.onRead)
		r.sys.EventSet(&l.wev, l.fd, posix.EvWrite|posix.EvPersist, l.onWrite)
		if err := r.sys.EventAdd(&l.rev); err != nil {
			r.end(err)
			return
		}
	}
	r.watch = r.a.ctx.Messages().Every(r.timeout/4, r.checkStall)
	r.pump()
}

// leg is the leg whose cache agent holds call's key.
func (r *pipeRun) leg(call *ycsb.Call) *pipeLeg {
	if r.ring == nil {
		return r.legs[0]
	}
	r.key = append(append(r.key[:0], r.prefix...), call.Key...)
	return r.legs[r.ring.Pick(r.key)]
}

// send encodes call onto its leg's pending requests.
func (r *pipeRun) send(call *ycsb.Call) {
	l := r.leg(call)
	l.out = l.codec.encode(l.out, call)
}

// outstanding is the number of calls sent and not answered, on all legs.
func (r *pipeRun) outstanding() int {
	n := 0
	for _, l := range r.legs {
		n += l.codec.outstanding()
	}
	return n
}

// pump starts every transaction the window and the throttle allow, sends
// their requests and ends the run when nothing is left.
func (r *pipeRun) pump() {
	if r.ended {
		return
	}
	now := time.Now()
	for {
		call, wait := r.q.Next(now)
		if call == nil {
			if wait > 0 && r.throttle == nil {
				r.throttle = r.a.ctx.Messages().After(wait, func(time.Time) {
					r.throttle = nil
					r.pump()
				})
			}
			break
		}
		r.send(call)
	}
	for _, l := range r.legs {
		if r.ended {
			return
		}
		l.flush()
	}
	if !r.ended && r.q.Finished() && r.outstanding() == 0 {
		r.end(nil)
	}
}

// flush writes what it can of the leg's pending requests; the rest waits
// for window (the write event).
func (l *pipeLeg) flush() {
	r := l.r
	for l.outOff < len(l.out) {
		n, err := r.sys.Write(l.fd, l.out[l.outOff:])
		l.outOff += n
		if err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				r.end(fmt.Errorf("write: %w", err))
				return
			}
			if !l.wev.Pending() {
				if err := r.sys.EventAdd(&l.wev); err != nil {
					r.end(err)
				}
			}
			return
		}
	}
	l.out, l.outOff = l.out[:0], 0
}

func (l *pipeLeg) onWrite(int, posix.EvFlags) {
	if l.r.ended {
		return
	}
	_ = l.r.sys.EventDel(&l.wev)
	l.flush()
}

// onRead takes everything that has arrived on the leg, ends the calls it
// answers and refills the window.
func (l *pipeLeg) onRead(fd int, _ posix.EvFlags) {
	r := l.r
	for !r.ended {
		if cap(l.in)-len(l.in) < minRead {
			l.compact()
		}
		n, err := r.sys.Read(fd, l.in[len(l.in):cap(l.in)])
		l.in = l.in[:len(l.in)+n]
		if n > 0 && !l.parse() {
			return
		}
		if err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				r.end(fmt.Errorf("read: %w", err))
				return
			}
			break
		}
	}
	r.pump()
}

// compact moves the unparsed bytes to the front of the receive buffer,
// growing it when a partial response fills it.
func (l *pipeLeg) compact() {
	rest := len(l.in) - l.inOff
	if l.inOff == 0 || cap(l.in)-rest < minRead {
		grown := make([]byte, rest, max(2*cap(l.in), rest+minRead))
		copy(grown, l.in[l.inOff:])
		l.in, l.inOff = grown, 0
		return
	}
	n := copy(l.in, l.in[l.inOff:])
	l.in, l.inOff = l.in[:n], 0
}

// parse ends the calls whose responses are complete; false when the run
// ended on a bad response.
func (l *pipeLeg) parse() bool {
	r := l.r
	now := time.Now()
	for {
		call, st, n, err := l.codec.decode(l.in[l.inOff:])
		if err != nil {
			r.end(err)
			return false
		}
		if n == 0 {
			break
		}
		l.inOff += n
		r.progress = now
		if next := r.q.Done(call, now, st); next != nil {
			r.send(next)
		}
	}
	if l.inOff == len(l.in) {
		l.in, l.inOff = l.in[:0], 0
	}
	return true
}

// checkStall ends the run when calls have waited a whole timeout without
// any response.
func (r *pipeRun) checkStall(now time.Time) {
	if n := r.outstanding(); !r.ended && n > 0 && now.Sub(r.progress) > r.timeout {
		r.end(fmt.Errorf("%w (%v, %d calls outstanding)", errStalled, r.timeout, n))
	}
}

// end finishes the run with err (nil: every transaction ended): calls
// still outstanding end as errors, the sockets close and the client's
// time stops.
func (r *pipeRun) end(err error) {
	if r.ended {
		return
	}
	r.ended = true
	if r.throttle != nil {
		r.throttle()
		r.throttle = nil
	}
	if r.watch != nil {
		r.watch()
	}
	now := time.Now()
	for _, l := range r.legs {
		for {
			call, ok := l.codec.drop()
			if !ok {
				break
			}
			r.q.Abandon(call, now)
		}
		_ = r.sys.EventDel(&l.rev)
		_ = r.sys.EventDel(&l.wev)
		_ = r.sys.Close(l.fd)
	}
	r.q.Close()
	r.done <- err
}
