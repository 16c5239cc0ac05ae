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

// minRead is the free space the receive buffer keeps for one read: one
// Diggi data chunk.
const minRead = 32 << 10

// pipeRun is one pipelined share of a phase. Apart from runPipelined,
// which starts and awaits it, it runs under the agent's baton.
type pipeRun struct {
	a       *ClientAgent
	sys     *posix.Sys
	fd      int
	q       *ycsb.Pipeline
	codec   *pipeCodec
	timeout time.Duration

	rev, wev posix.Event
	in       []byte // received; in[inOff:] is not parsed yet
	inOff    int
	out      []byte // requests; out[outOff:] is not written yet
	outOff   int

	throttle func() // cancels the pending throttle timer, if any
	watch    func() // cancels the watchdog
	progress time.Time
	ended    bool
	done     chan error // gets the outcome once
}

// errStalled is a pipelined run's error when the cache answers nothing
// for a whole timeout while calls are outstanding.
var errStalled = errors.New("experiments: no response within the timeout")

// runPipelined runs client i of plan as a pipelined client with window
// transactions outstanding. It is called on a goroutine of the harness,
// never under the baton.
func (a *ClientAgent) runPipelined(ctx context.Context, plan *ycsb.Plan, i, window int, w *ycsb.Workload, table string) error {
	fd, err := a.dialRaw(ctx)
	if err != nil {
		return err
	}
	r := &pipeRun{
		a: a, sys: a.sys, fd: fd, timeout: a.timeout, codec: newPipeCodec(w, table, window),
		in: make([]byte, 0, 2*minRead), done: make(chan error, 1),
	}
	sched := a.ctx.Scheduler()
	if err := sched.Run(func() { r.begin(plan, i, window) }); err != nil {
		return fmt.Errorf("client agent %s: %w", a.ctx.Info(), err)
	}
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

// dialRaw connects a non-blocking socket to the cache agent, within the
// agent's call timeout.
func (a *ClientAgent) dialRaw(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	fd, err := netconn.DialFD(ctx, a.sys, a.target)
	if err != nil {
		return -1, fmt.Errorf("client agent %s: %w", a.ctx.Info(), err)
	}
	return fd, nil
}

// begin starts the client: the first window of requests, the read event
// and the watchdog.
func (r *pipeRun) begin(plan *ycsb.Plan, i, window int) {
	q, err := plan.Pipeline(i, window)
	if err != nil {
		_ = r.sys.Close(r.fd)
		r.ended = true
		r.done <- err
		return
	}
	r.q = q
	r.progress = time.Now()
	r.sys.EventSet(&r.rev, r.fd, posix.EvRead|posix.EvPersist, r.onRead)
	r.sys.EventSet(&r.wev, r.fd, posix.EvWrite|posix.EvPersist, r.onWrite)
	if err := r.sys.EventAdd(&r.rev); err != nil {
		r.end(err)
		return
	}
	r.watch = r.a.ctx.Messages().Every(r.timeout/4, r.checkStall)
	r.pump()
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
		r.out = r.codec.encode(r.out, call)
	}
	r.flush()
	if !r.ended && r.q.Finished() && r.codec.outstanding() == 0 {
		r.end(nil)
	}
}

// flush writes what it can of the pending requests; the rest waits for
// window (the write event).
func (r *pipeRun) flush() {
	for r.outOff < len(r.out) {
		n, err := r.sys.Write(r.fd, r.out[r.outOff:])
		r.outOff += n
		if err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				r.end(fmt.Errorf("write: %w", err))
				return
			}
			if !r.wev.Pending() {
				if err := r.sys.EventAdd(&r.wev); err != nil {
					r.end(err)
				}
			}
			return
		}
	}
	r.out, r.outOff = r.out[:0], 0
}

func (r *pipeRun) onWrite(int, posix.EvFlags) {
	if r.ended {
		return
	}
	_ = r.sys.EventDel(&r.wev)
	r.flush()
}

// onRead takes everything that has arrived, ends the calls it answers and
// refills the window.
func (r *pipeRun) onRead(fd int, _ posix.EvFlags) {
	for !r.ended {
		if cap(r.in)-len(r.in) < minRead {
			r.compact()
		}
		n, err := r.sys.Read(fd, r.in[len(r.in):cap(r.in)])
		r.in = r.in[:len(r.in)+n]
		if n > 0 && !r.parse() {
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
func (r *pipeRun) compact() {
	rest := len(r.in) - r.inOff
	if r.inOff == 0 || cap(r.in)-rest < minRead {
		grown := make([]byte, rest, max(2*cap(r.in), rest+minRead))
		copy(grown, r.in[r.inOff:])
		r.in, r.inOff = grown, 0
		return
	}
	n := copy(r.in, r.in[r.inOff:])
	r.in, r.inOff = r.in[:n], 0
}

// parse ends the calls whose responses are complete; false when the run
// ended on a bad response.
func (r *pipeRun) parse() bool {
	now := time.Now()
	for {
		call, st, n, err := r.codec.decode(r.in[r.inOff:])
		if err != nil {
			r.end(err)
			return false
		}
		if n == 0 {
			break
		}
		r.inOff += n
		r.progress = now
		if next := r.q.Done(call, now, st); next != nil {
			r.out = r.codec.encode(r.out, next)
		}
	}
	if r.inOff == len(r.in) {
		r.in, r.inOff = r.in[:0], 0
	}
	return true
}

// checkStall ends the run when calls have waited a whole timeout without
// any response.
func (r *pipeRun) checkStall(now time.Time) {
	if !r.ended && r.codec.outstanding() > 0 && now.Sub(r.progress) > r.timeout {
		r.end(fmt.Errorf("%w (%v, %d calls outstanding)", errStalled, r.timeout, r.codec.outstanding()))
	}
}

// end finishes the run with err (nil: every transaction ended): calls
// still outstanding end as errors, the socket closes and the client's
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
	for {
		call, ok := r.codec.drop()
		if !ok {
			break
		}
		r.q.Abandon(call, now)
	}
	_ = r.sys.EventDel(&r.rev)
	_ = r.sys.EventDel(&r.wev)
	_ = r.sys.Close(r.fd)
	r.q.Close()
	r.done <- err
}
