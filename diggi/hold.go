package diggi

// Run to completion. A relay that serves many clients from one event loop
// (the gateway) sends a burst of messages to an agent that is idle, which
// answers with a burst back. Waking each agent's worker goroutine for its
// part costs a thread wake-up per hop when the other core sleeps, more than
// the work itself, and leaves a load generator on the same machine less
// CPU. Instead the loop can hold its deliveries (Hold) and, once it has
// released its own baton, drain the receivers on its own goroutine
// (Held.Run): each receiver's drain and the tasks it queues run there
// under the receiver's baton, and what they send back is held and drained
// the same way, so a request and its reply complete without any hand-off.
// A receiver that is busy, or beyond maxHelps drains, is notified as
// usual. Only runtime and agent tasks run on the helping goroutine, under
// each agent's baton, so one agent's code still never runs on two
// goroutines at once.

// maxHelps bounds the drains one Run runs on its goroutine.
const maxHelps = 16

// maxHelpTasks bounds the tasks one help runs before it hands the rest to
// a worker, so a busy agent cannot hold the helping goroutine.
const maxHelpTasks = 1024

// Held is a set of agents with deliveries that nobody was told about yet.
type Held struct{ dst []*endpoint }

// Hold makes direct deliveries from this agent wait un-notified until
// Release; call it under the baton. Holding ends early, and what was held
// is notified, if a task of the agent blocks before Release.
func (mm *Manager) Hold() { mm.holding = true }

// Release ends Hold and returns what it held. Call it under the baton,
// then Run the result once the baton is released: until then the
// receivers are not told about those messages.
func (mm *Manager) Release() Held {
	mm.holding = false
	h := Held{dst: mm.held}
	mm.held = nil
	return h
}

// stopHolding ends Hold early and notifies what it held, and what the
// Run running this agent's tasks (if any) has still to drain. A task
// that is about to block may be waiting for an answer to exactly those
// messages, and while it waits other tasks of the agent send too: nothing
// may stay un-notified across a wait.
func (mm *Manager) stopHolding() {
	if mm.helping != nil {
		mm.helping.notifyAll()
	}
	notifyEach(mm.Release().dst)
}

// holdDelivery records dst while the agent holds its deliveries.
func (mm *Manager) holdDelivery(dst *endpoint) bool {
	if !mm.holding {
		return false
	}
	for _, d := range mm.held {
		if d == dst {
			return true
		}
	}
	mm.held = append(mm.held, dst)
	return true
}

// Run is the run-to-completion shortcut, and an enclave entry: the calling
// goroutine (the gateway's relay, untrusted) takes each held receiver's
// baton, waiting a little for a busy one (see helpWait), and runs its
// drain and the tasks it queues (the trusted cache agent's handlers)
// there, then does the same for the receivers those tasks held, up to
// maxHelps drains. On enclave hardware this call is where the relay's
// thread crosses into the receiver's enclave (an ECALL) and back, once per
// burst; see the design notes on the runtime (docs/runtime.md). The
// caller must not hold any agent's baton. Waiting holds no baton, so two
// relays waiting for each other's receivers cannot deadlock. A receiver
// still busy after the wait, one running a lifecycle task, and any beyond
// maxHelps drains, is notified, and its own worker drains it.
func (h Held) Run() {
	d := &delivery{pending: h.dst}
	for helps := 0; len(d.pending) > 0; helps++ {
		dst := d.pending[0]
		d.pending = d.pending[1:]
		if helps >= maxHelps {
			dst.notify()
			continue
		}
		if !dst.arm() {
			continue // a drain is armed and will find the messages
		}
		held, ran := dst.help(d)
		if !ran {
			dst.drain() // busy: schedule the drain, as notify does
			continue
		}
		d.pending = append(d.pending, held...)
	}
}

// delivery is one Run's receivers still to be drained or notified.
type delivery struct{ pending []*endpoint }

// notifyAll hands every pending receiver to its own workers.
func (d *delivery) notifyAll() {
	notifyEach(d.pending)
	d.pending = d.pending[:0]
}

func notifyEach(dsts []*endpoint) {
	for _, dst := range dsts {
		dst.notify()
	}
}

// help runs the armed drain and the tasks it queues under the baton, once
// the baton is free, holding this agent's own deliveries meanwhile. If one
// of those tasks blocks, d's pending receivers are notified first (see
// stopHolding).
func (mm *Manager) help(d *delivery) (held []*endpoint, ran bool) {
	ran = mm.sched.runHere(func() {
		mm.helping = d
		mm.holding = true
		mm.drain()
	}, func() {
		mm.helping = nil
		held = mm.Release().dst
	})
	if !ran {
		return nil, false
	}
	return held, true
}
