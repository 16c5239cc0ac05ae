package diggi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecached/securecached/internal/proctime"
)

// recorder logs its lifecycle calls into a shared journal.
type recorder struct {
	journal *journal
	name    string
	failIn  string
}

type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(s string) { j.mu.Lock(); j.lines = append(j.lines, s); j.mu.Unlock() }
func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

func (r *recorder) Init(ctx *Context) error {
	r.name = ctx.Name()
	r.journal.add("init " + r.name)
	if r.failIn == "init" {
		return errors.New("boom")
	}
	return nil
}

func (r *recorder) Start(ctx *Context) error {
	r.journal.add("start " + r.name)
	if r.failIn == "start" {
		return errors.New("boom")
	}
	// Say hello to every agent that is already running.
	for _, in := range ctx.Directory().All() {
		if in.ID != ctx.ID() {
			_ = ctx.Messages().Send(in.ID, []byte("hello from "+r.name))
		}
	}
	return nil
}

func (r *recorder) Receive(m *Message) { r.journal.add(r.name + " got " + string(m.Payload())) }
func (r *recorder) Stop(ctx *Context)  { r.journal.add("stop " + r.name) }

func recorderRegistry(j *journal, failIn string) *Registry {
	reg := NewRegistry()
	reg.Register("recorder", func() Agent { return &recorder{journal: j} })
	reg.Register("failing", func() Agent { return &recorder{journal: j, failIn: failIn} })
	return reg
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestInstanceLifecycleOrderFromConfigFile(t *testing.T) {
	cfg, err := LoadConfig("testdata/instance.json")
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{}
	// The file has a trusted agent, so a (plaintext) factory is required.
	plain := func(self, peer Info) (Channel, error) { return nil, nil }
	in, err := NewInstance(cfg, InstanceOptions{Registry: recorderRegistry(j, ""), Channels: plain, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	// Directory: names, kinds, trust flags and instance-qualified lookup.
	dir := in.Directory()
	if got := len(dir.All()); got != 3 {
		t.Fatalf("directory has %d agents", got)
	}
	cache, ok := dir.Lookup("node1/cache")
	if !ok || !cache.Trusted || cache.Kind != "recorder" || cache.ID.Instance() != in.ID() || cache.String() != "node1/cache" {
		t.Errorf("lookup node1/cache: %+v %v", cache, ok)
	}
	if byID, ok := dir.ByID(cache.ID); !ok || byID != cache {
		t.Errorf("ByID: %+v", byID)
	}
	if _, ok := dir.Lookup("other/cache"); ok {
		t.Error("lookup in another instance succeeded")
	}
	if n := len(dir.ByKind("recorder")); n != 3 {
		t.Errorf("ByKind: %d", n)
	}
	ctx, _ := in.Context("cache")
	if v := ctx.Options().String("memory", ""); v != "64" || !ctx.Trusted() {
		t.Errorf("context options/trust: %q %v", v, ctx.Trusted())
	}
	// Every hello is delivered (6 of them) before we stop.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(strings.Join(j.get(), "\n"), " got hello") < 6 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := in.Stop(); err != nil {
		t.Fatal("second Stop:", err)
	}
	var order []string
	for _, l := range j.get() {
		if !strings.Contains(l, " got ") {
			order = append(order, l)
		}
	}
	want := "init gateway,init cache,init ycsb,start gateway,start cache,start ycsb,stop ycsb,stop cache,stop gateway"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("lifecycle order\n got %s\nwant %s", got, want)
	}
	if n := len(dir.All()); n != 0 {
		t.Errorf("%d agents still published after stop", n)
	}
	inAgentErr := ctx.Scheduler().Schedule(func() {})
	if !errors.Is(inAgentErr, ErrStopped) {
		t.Errorf("schedule after stop: %v", inAgentErr)
	}
}

func TestInstanceStartFailureStopsStartedAgents(t *testing.T) {
	j := &journal{}
	cfg := Config{Instance: "x", Agents: []AgentConfig{{Name: "a", Kind: "recorder"}, {Name: "b", Kind: "failing"}, {Name: "c", Kind: "recorder"}}}
	in, err := NewInstance(cfg, InstanceOptions{Registry: recorderRegistry(j, "start"), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	err = in.Start()
	if err == nil || !strings.Contains(err.Error(), "start b") {
		t.Fatalf("Start: %v", err)
	}
	got := strings.Join(j.get(), ",")
	for _, want := range []string{"stop a", "stop b"} {
		if !strings.Contains(got, want) {
			t.Errorf("journal %s lacks %q", got, want)
		}
	}
	if strings.Contains(got, "start c") || strings.Contains(got, "stop c") {
		t.Errorf("agent c started or stopped without starting: %s", got)
	}
}

func TestInstanceUnknownKind(t *testing.T) {
	_, err := NewInstance(Config{Instance: "x", Agents: []AgentConfig{{Name: "a", Kind: "nope"}}}, InstanceOptions{Registry: NewRegistry()})
	if err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("got %v", err)
	}
	reg := NewRegistry()
	if err := reg.Register("k", func() Agent { return &hookAgent{} }); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("k", func() Agent { return &hookAgent{} }); err == nil {
		t.Error("duplicate kind registered")
	}
}

func TestTimersDeliverTicksAsMessages(t *testing.T) {
	ticks := 0
	fired := make(chan struct{})
	once := make(chan time.Time, 1)
	var seen []MsgType
	a := &hookAgent{
		start: func(ctx *Context) error {
			ctx.Messages().After(10*time.Millisecond, func(now time.Time) { once <- now })
			var cancel func()
			cancel = ctx.Messages().Every(5*time.Millisecond, func(time.Time) {
				ticks++
				if ticks == 3 {
					cancel()
					close(fired)
				}
			})
			return nil
		},
	}
	var tap sync.Mutex
	router := RouterFunc(func(m *Message, f Forwarder) {
		tap.Lock()
		seen = append(seen, m.Type)
		tap.Unlock()
		f.Forward(m)
	})
	in := testInstance(t, InstanceOptions{Router: router}, []string{"a"}, a)
	waitFor(t, fired, 5*time.Second, "three ticks")
	select {
	case now := <-once:
		if time.Since(now) > time.Minute {
			t.Errorf("timer time %v", now)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("After never fired")
	}
	time.Sleep(30 * time.Millisecond)
	inAgent(t, in, "a", func(*Context) {
		if ticks != 3 {
			t.Errorf("cancelled periodic timer ticked %d times", ticks)
		}
	})
	tap.Lock()
	defer tap.Unlock()
	if len(seen) < 4 || seen[0] != TypeTimer {
		t.Errorf("ticks did not pass the router as timer messages: %v", seen)
	}
}

// An idle agent and an idle instance use no CPU: no goroutine polls.
func TestIdleInstanceUsesNoCPU(t *testing.T) {
	var agents []*hookAgent
	var names []string
	for i := 0; i < 8; i++ {
		agents = append(agents, &hookAgent{})
		names = append(names, fmt.Sprintf("idle%d", i))
	}
	in := testInstance(t, InstanceOptions{}, names, agents...)
	// Exercise every agent once so that workers exist and park.
	for _, n := range names {
		inAgent(t, in, n, func(ctx *Context) {})
	}
	time.Sleep(50 * time.Millisecond)
	before := cpuTime(t)
	time.Sleep(time.Second)
	used := cpuTime(t) - before
	// Generous: the whole test process, including the race detector and
	// the Go runtime's own background work, over one idle second.
	if used > 100*time.Millisecond {
		t.Errorf("idle instance used %v of CPU in 1s", used)
	}
	t.Logf("CPU over an idle second: %v", used)
}

func cpuTime(t *testing.T) time.Duration {
	d, err := proctime.Total()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A trusted agent without a channel factory would silently run in
// plaintext, so NewInstance refuses the configuration.
func TestNewInstanceRequiresChannelsForTrustedAgents(t *testing.T) {
	reg := NewRegistry()
	reg.Register("k", func() Agent { return &hookAgent{} })
	plain := func(self, peer Info) (Channel, error) { return nil, nil }
	tests := []struct {
		name     string
		trusted  bool
		channels ChannelFactory
		wantErr  bool
	}{
		{"trusted without factory", true, nil, true},
		{"trusted with factory", true, plain, false},
		{"untrusted without factory", false, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Instance: "g", Agents: []AgentConfig{
				{Name: "a", Kind: "k"}, {Name: "b", Kind: "k", Trusted: tc.trusted},
			}}
			in, err := NewInstance(cfg, InstanceOptions{Registry: reg, Channels: tc.channels, Logger: quietLog()})
			if tc.wantErr {
				if !errors.Is(err, ErrNoChannels) || !strings.Contains(err.Error(), "agent b") {
					t.Fatalf("err = %v, want ErrNoChannels naming agent b", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := in.Start(); err != nil {
				t.Fatal(err)
			}
			if err := in.Stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
