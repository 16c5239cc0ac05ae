package diggi

import (
	"sync/atomic"
	"testing"
	"time"
)

// holdPair is an instance with a relay and an echo agent: echo answers
// every message to its sender with the same payload; the relay counts the
// answers.
type holdPair struct {
	in            *Instance
	relay, echo   *Context
	echoID        AgentID
	echoed, answd atomic.Int64
	all           chan struct{}
	want          int64
}

func newHoldPair(t *testing.T, want int64) *holdPair {
	t.Helper()
	p := &holdPair{all: make(chan struct{}), want: want}
	relay := &hookAgent{receive: func(_ *Context, m *Message) {
		if p.answd.Add(1) == p.want {
			close(p.all)
		}
	}}
	echo := &hookAgent{receive: func(ctx *Context, m *Message) {
		p.echoed.Add(1)
		if err := ctx.Messages().Send(m.Src, m.Payload()); err != nil {
			t.Error(err)
		}
	}}
	p.in = testInstance(t, InstanceOptions{Logger: quietLog()}, []string{"relay", "echo"}, relay, echo)
	p.relay, _ = p.in.Context("relay")
	p.echo, _ = p.in.Context("echo")
	dst, _ := p.in.Directory().Lookup("echo")
	p.echoID = dst.ID
	return p
}

// sendHeld sends n messages from the relay with its deliveries held.
func (p *holdPair) sendHeld(t *testing.T, n int) Held {
	t.Helper()
	var held Held
	if err := p.relay.Scheduler().Run(func() {
		p.relay.Messages().Hold()
		for i := range n {
			if err := p.relay.Messages().Send(p.echoID, []byte{byte(i)}); err != nil {
				t.Error(err)
			}
		}
		held = p.relay.Messages().Release()
	}); err != nil {
		t.Fatal(err)
	}
	return held
}

// Held deliveries wait, un-notified, until Run; then the idle echo and
// the idle relay both run on the delivering goroutine, so every answer is
// in when Run returns.
func TestHeldRunyRunsToCompletion(t *testing.T) {
	const n = 10
	p := newHoldPair(t, n)
	held := p.sendHeld(t, n)
	if got := p.echoed.Load(); got != 0 {
		t.Fatalf("echo received %d held messages before Run", got)
	}
	held.Run()
	if e, a := p.echoed.Load(), p.answd.Load(); e != n || a != n {
		t.Fatalf("after Run: echo received %d, relay %d answers; want %d each", e, a, n)
	}
}

// Run waits for a receiver whose baton is taken and then drains it
// on its own goroutine: when Run returns, every answer is in,
// although the echo's baton was busy when Run began. (The wait is
// made long enough that the test does not depend on timing.)
func TestHeldRunWaitsForBusyAgent(t *testing.T) {
	const n = 5
	p := newHoldPair(t, n)
	p.echo.sched.helpWait = time.Hour
	free := takeBaton(p.echo.Scheduler())
	held := p.sendHeld(t, n)
	completed := make(chan struct{})
	go func() {
		held.Run()
		close(completed)
	}()
	select {
	case <-completed:
		t.Fatal("Run returned while the echo's baton was taken")
	case <-time.After(50 * time.Millisecond):
	}
	if got := p.echoed.Load(); got != 0 {
		t.Fatalf("echo ran %d handlers while its baton was taken", got)
	}
	free()
	waitFor(t, completed, 10*time.Second, "Run")
	if e, a := p.echoed.Load(), p.answd.Load(); e != n || a != n {
		t.Fatalf("after Run: echo received %d, relay %d answers; want %d each", e, a, n)
	}
}

// A receiver whose baton stays taken is notified instead: Run does not
// wait for it, nor does Run once its wait is over (here at once), and
// the messages arrive once the receiver is free.
func TestHeldRunyToBusyAgent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		deliver func(Held)
	}{
		{"Run", Held.Run},
		{"Run", Held.Run},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 5
			p := newHoldPair(t, n)
			p.echo.sched.helpWait = 0
			free := takeBaton(p.echo.Scheduler())
			tc.deliver(p.sendHeld(t, n))
			if got := p.echoed.Load(); got != 0 {
				t.Fatalf("echo ran %d handlers while its baton was taken", got)
			}
			free()
			waitFor(t, p.all, 10*time.Second, "answers after the baton was freed")
		})
	}
}

// Two agents that answer each other for a long time hold the helping
// goroutine for at most maxHelps drains; the exchange goes on through the
// workers.
func TestHeldRunyChainIsBounded(t *testing.T) {
	const rounds = 500
	var count atomic.Int64
	done := make(chan struct{})
	pong := func(ctx *Context, m *Message) {
		if count.Add(1) == rounds {
			close(done)
		}
		if count.Load() < rounds {
			_ = ctx.Messages().Send(m.Src, m.Payload())
		}
	}
	a, b := &hookAgent{receive: pong}, &hookAgent{receive: pong}
	in := testInstance(t, InstanceOptions{Logger: quietLog()}, []string{"a", "b"}, a, b)
	ca, _ := in.Context("a")
	dst, _ := in.Directory().Lookup("b")
	var held Held
	if err := ca.Scheduler().Run(func() {
		ca.Messages().Hold()
		if err := ca.Messages().Send(dst.ID, []byte("ball")); err != nil {
			t.Error(err)
		}
		held = ca.Messages().Release()
	}); err != nil {
		t.Fatal(err)
	}
	held.Run() // returns: were the chain unbounded, it would not
	waitFor(t, done, 10*time.Second, "the whole exchange")
}

// A task that blocks while its agent holds deliveries (here: a Call, whose
// request was held) must not wait for an answer nobody was told about.
func TestHoldEndsWhenATaskBlocks(t *testing.T) {
	p := newHoldPair(t, 0)
	inAgent(t, p.in, "echo", func(ctx *Context) {
		ctx.Messages().Subscribe(TypeRequest, func(m *Message) {
			_ = ctx.Messages().Reply(m, m.Payload())
		})
	})
	got := make(chan []byte, 1)
	var held Held
	if err := p.relay.Scheduler().Run(func() {
		p.relay.Messages().Hold()
		out, err := p.relay.Messages().Call(t.Context(), p.echoID, []byte("ping"))
		if err != nil {
			t.Error(err)
		}
		got <- out
		held = p.relay.Messages().Release()
	}); err != nil {
		t.Fatal(err)
	}
	held.Run()
	if out := <-got; string(out) != "ping" {
		t.Fatalf("Call answered %q, want ping", out)
	}
}

// takeBaton holds s's baton from another goroutine until free is called.
func takeBaton(s *Scheduler) (free func()) {
	busy, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.Run(func() {
			close(busy)
			<-release
		})
	}()
	<-busy
	return func() { close(release) }
}
