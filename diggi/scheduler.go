package diggi

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// ErrStopped is returned by operations on an agent, scheduler or instance
// that has been stopped.
var ErrStopped = errors.New("diggi: stopped")

// maxParked bounds the idle worker goroutines a scheduler keeps for reuse.
const maxParked = 2

// Scheduler is an agent's thread (§3.2): a FIFO queue of tasks, run one at a
// time by whichever goroutine holds the agent's baton. Agent code only runs
// under the baton, so agent state needs no locks.
//
// Blocking calls (socket reads, waiting for a response) go through Block,
// which hands the baton on while the caller waits, so the agent's other
// tasks run meanwhile: the thesis's Yield without a nested event loop. The
// baton moves between goroutines only under the scheduler's mutex, which
// also gives the race detector the happens-before edges between holders.
// An idle scheduler has no runnable goroutine: workers park on channels.
type Scheduler struct {
	mu      sync.Mutex
	tasks   taskQueue
	held    bool      // the baton is taken (or being handed to a new worker)
	ready   []*waiter // goroutines waiting to get the baton back, FIFO
	parked  []*waiter // idle workers
	closed  bool
	done    chan struct{}
	workers sync.WaitGroup
	onBlock func() // runs under the baton before a blocking call releases it
	// workerOnly counts queued or running tasks that helpers must leave
	// to the workers (scheduleOnWorker).
	workerOnly int
	helpWait   time.Duration // runHere's bound on waiting (tests change it)
	log        *slog.Logger
	name       string
}

// NewScheduler returns a running, idle scheduler. name labels its log lines.
func NewScheduler(name string, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{done: make(chan struct{}), log: log, name: name, helpWait: helpWait}
}

// Done is closed when the scheduler is closed. Blocking waits select on it
// so that Close can end them.
func (s *Scheduler) Done() <-chan struct{} { return s.done }

// Schedule queues t to run after the tasks already queued. It may be called
// from any goroutine; t starts only after the caller's current task, if it
// is one of this scheduler's, has finished or blocked.
func (s *Scheduler) Schedule(t func()) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("schedule on %s: %w", s.name, ErrStopped)
	}
	s.tasks.push(t)
	if !s.held {
		s.held = true
		s.grantWorker()
	}
	s.mu.Unlock()
	return nil
}

// Block runs wait with the baton released, so that the agent's other tasks
// run while the caller waits; the caller has the baton again when Block
// returns. The caller must hold the baton (agent code always does). wait
// must not touch agent state and should select on Done.
//
// Block is also how an agent task calls ordinary blocking Go code (a
// gomemcache client, an http.Client) whose connections are Diggi sockets:
// that code runs without the baton, and the sockets take it per operation
// with Run.
func (s *Scheduler) Block(wait func()) {
	if s.onBlock != nil {
		s.onBlock()
	}
	s.mu.Lock()
	if !s.held {
		s.mu.Unlock()
		panic("diggi: Scheduler.Block called without the agent's baton (use Run from goroutines of your own)")
	}
	s.handoff()
	s.mu.Unlock()
	wait()
	s.acquire()
}

// parker lets a task wait for an event raised by another task (a
// response dispatched by the drain task) and get the baton back directly
// when it happens: one goroutine switch instead of a wake-up followed by a
// contended acquire.
type parker struct {
	w     waiter
	state uint8 // under s.mu
}

const (
	parkIdle    uint8 = iota // not parked yet
	parkWaiting              // parked, baton released
	parkQueued               // unparked: in s.ready (or granted)
	parkEarly                // unparked before it parked
	parkGaveUp               // cancelled
)

// park releases the baton until unpark (true), cancel or Close (false);
// either way the caller holds the baton again on return. The caller must
// hold it.
func (s *Scheduler) park(pk *parker, cancel <-chan struct{}) bool {
	s.mu.Lock()
	if pk.state == parkEarly {
		s.mu.Unlock()
		return true
	}
	s.mu.Unlock()
	if s.onBlock != nil {
		s.onBlock()
	}
	if pk.w.wake == nil {
		pk.w.wake = make(chan bool, 1)
	}
	s.mu.Lock()
	pk.state = parkWaiting
	s.handoff()
	s.mu.Unlock()
	// A response usually comes within a spin; only then block.
	if pk.w.spin() || !pk.w.sleep() {
		return pk.w.take()
	}
	select {
	case <-pk.w.wake:
		pk.w.woke()
		return true
	case <-cancel:
	case <-s.done:
	}
	s.mu.Lock()
	if pk.state == parkQueued { // unparked meanwhile: the baton is on its way
		s.mu.Unlock()
		<-pk.w.wake
		pk.w.woke()
		return true
	}
	pk.state = parkGaveUp
	s.mu.Unlock()
	s.acquire()
	return false
}

// unpark wakes a parked task: it is next in line for the baton. Called
// under the baton.
func (s *Scheduler) unpark(pk *parker) {
	s.mu.Lock()
	switch pk.state {
	case parkIdle:
		pk.state = parkEarly
	case parkWaiting:
		pk.state = parkQueued
		s.ready = append(s.ready, &pk.w)
	}
	s.mu.Unlock()
}

// Yield lets every task queued so far run before the caller continues. The
// caller must hold the baton.
func (s *Scheduler) Yield() {
	s.mu.Lock()
	if s.tasks.empty() && len(s.ready) == 0 {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if s.onBlock != nil {
		s.onBlock()
	}
	s.mu.Lock()
	w := newWaiter()
	// A marker task: when a worker reaches it, the yielder is next in line.
	s.tasks.push(func() {
		s.mu.Lock()
		s.ready = append([]*waiter{w}, s.ready...)
		s.mu.Unlock()
	})
	s.handoff()
	s.mu.Unlock()
	w.wait()
}

// Run calls fn holding the baton, from a goroutine that does not hold it
// (net/http's goroutines using a Diggi socket, a test, a program embedding
// an instance). It waits for the baton, so calling it while holding the
// baton deadlocks: agent code calls fn directly instead.
func (s *Scheduler) Run(fn func()) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("run on %s: %w", s.name, ErrStopped)
	}
	s.acquire()
	defer func() {
		s.mu.Lock()
		s.handoff()
		s.mu.Unlock()
	}()
	fn()
	return nil
}

// Close stops accepting tasks, lets queued tasks finish, ends blocking waits
// (through Done) and waits until every worker goroutine has exited. It must
// not be called from one of the scheduler's own tasks.
func (s *Scheduler) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
		for _, w := range s.parked {
			w.signal(false)
		}
		s.parked = nil
	}
	s.mu.Unlock()
	s.workers.Wait()
}

// scheduleOnWorker is Schedule for a task that must run on one of the
// scheduler's own workers, never on a helping goroutine (runHere): the
// lifecycle calls, since an agent's Stop may wait for goroutines of its
// own, a helper among them. Until the task has run, helpers stay away.
func (s *Scheduler) scheduleOnWorker(t func()) error {
	s.mu.Lock()
	s.workerOnly++
	s.mu.Unlock()
	ran := func() {
		s.mu.Lock()
		s.workerOnly--
		s.mu.Unlock()
	}
	err := s.Schedule(func() {
		defer ran()
		t()
	})
	if err != nil {
		ran()
	}
	return err
}

// helpWait bounds how long a relay waits for a busy receiver's baton
// (Held.Run) before it hands the receiver to its worker after all.
// The holder is another relay running a batch through the receiver, tens
// of microseconds; a wake-up of the receiver's worker costs more.
const helpWait = 200 * time.Microsecond

// runHere takes the baton once it is free (polling, yielding the
// processor, for up to helpWait), and runs fn, then
// the tasks queued meanwhile (up to maxHelpTasks), on the calling
// goroutine; before giving the baton up it calls done. It reports false, running nothing, when the baton stays
// taken, the scheduler is closed or a task must run on a worker.
func (s *Scheduler) runHere(fn, done func()) bool {
	taken := false
	spinUntil(s.helpWait, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || s.workerOnly != 0 {
			return true // give up
		}
		if !s.held {
			s.held, taken = true, true
		}
		return taken
	})
	if !taken {
		return false
	}
	s.run(fn)
	s.mu.Lock()
	for n := 0; n < maxHelpTasks && len(s.ready) == 0 && s.workerOnly == 0; n++ {
		t, ok := s.tasks.pop()
		if !ok {
			break
		}
		s.mu.Unlock()
		s.run(t)
		s.mu.Lock()
	}
	s.mu.Unlock()
	done()
	s.mu.Lock()
	s.handoff()
	s.mu.Unlock()
	return true
}

// acquire waits until the calling goroutine holds the baton.
func (s *Scheduler) acquire() {
	s.mu.Lock()
	if !s.held {
		s.held = true
		s.mu.Unlock()
		return
	}
	w := newWaiter()
	s.ready = append(s.ready, w)
	s.mu.Unlock()
	w.wait()
}

// handoff gives up the caller's baton: to a goroutine waiting to resume,
// else to a worker if tasks are queued, else it becomes free. s.mu is held.
func (s *Scheduler) handoff() {
	if len(s.ready) > 0 {
		// Shift down rather than reslice, so that the backing array is
		// reused instead of reallocated by the next append.
		w := s.ready[0]
		n := copy(s.ready, s.ready[1:])
		s.ready[n] = nil
		s.ready = s.ready[:n]
		w.signal(true)
		return
	}
	if !s.tasks.empty() {
		s.grantWorker()
		return
	}
	s.held = false
}

// grantWorker hands the (taken) baton to a parked worker or a new one.
// s.mu is held.
func (s *Scheduler) grantWorker() {
	if s.closed {
		// Close is waiting for the workers (s.workers.Wait): adding one
		// now would race it, and a closed scheduler runs no more tasks.
		s.held = false
		return
	}
	if n := len(s.parked); n > 0 {
		w := s.parked[n-1]
		s.parked = s.parked[:n-1]
		w.signal(true)
		return
	}
	s.workers.Add(1)
	go s.work()
}

// work is a worker goroutine. It starts holding the baton and runs tasks
// until there are none, then parks (or exits if enough workers are parked
// or the scheduler is closed).
func (s *Scheduler) work() {
	defer s.workers.Done()
	w := newWaiter()
	s.mu.Lock()
	for {
		// Baton held, s.mu locked.
		if len(s.ready) > 0 {
			s.handoff() // a blocked call resumes first; this worker parks
		} else if t, ok := s.tasks.pop(); ok {
			s.mu.Unlock()
			s.run(t)
			s.mu.Lock()
			continue
		} else {
			s.held = false
		}
		if s.closed || len(s.parked) >= maxParked {
			s.mu.Unlock()
			return
		}
		s.parked = append(s.parked, w)
		s.mu.Unlock()
		if !w.wait() {
			return
		}
		s.mu.Lock()
	}
}

// run executes one task, containing a panic to the task: the agent's other
// tasks keep running and the panic is logged with its stack.
func (s *Scheduler) run(t func()) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("agent task panicked", "agent", s.name, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	t()
}
