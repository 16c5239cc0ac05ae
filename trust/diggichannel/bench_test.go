package diggichannel

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
)

// counter is an agent that counts what it receives; with consume set it
// also reads every payload byte, as a real receiver would.
type counter struct {
	n       atomic.Int64
	target  atomic.Int64
	done    chan struct{}
	consume bool
	found   int
}

func (c *counter) Init(*diggi.Context) error  { return nil }
func (c *counter) Start(*diggi.Context) error { return nil }
func (c *counter) Stop(*diggi.Context)        {}
func (c *counter) Receive(m *diggi.Message) {
	if c.consume {
		// A vectorised scan for a byte that is not there reads the
		// whole payload at memory speed.
		c.found += bytes.IndexByte(m.Payload(), 0)
	}
	if c.n.Add(1) == c.target.Load() {
		c.done <- struct{}{}
	}
}

// benchAgentToAgent streams b.N messages of size bytes from one agent to
// another through the real runtime (queues, mover, router), sealed and
// opened by the pair's channel when trusted.
func benchAgentToAgent(b *testing.B, size int, trusted, consume bool) {
	w := testsim.New(b)
	src, dst := &counter{done: make(chan struct{}, 1)}, &counter{done: make(chan struct{}, 1), consume: consume}
	reg := diggi.NewRegistry()
	_ = reg.Register("src", func() diggi.Agent { return src })
	_ = reg.Register("dst", func() diggi.Agent { return dst })
	cfg := diggi.Config{Instance: "bench", Agents: []diggi.AgentConfig{
		{Name: "src", Kind: "src", Trusted: trusted}, {Name: "dst", Kind: "dst", Trusted: trusted},
	}}
	spec, err := AgentsFromConfig(cfg, trust.Signer{1})
	if err != nil {
		b.Fatal(err)
	}
	f, err := New(Options{Backend: w.Backend, Agents: spec, AllowSimulated: true,
		SimRoots: w.SimRoots(), AllowPlaintext: true, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	in, err := diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Channels: f.ChannelFactory(), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	if err := in.Start(); err != nil {
		b.Fatal(err)
	}
	defer in.Stop()
	ctx, _ := in.Context("src")
	to, _ := in.Directory().Lookup("dst")
	payload := bytes.Repeat([]byte{'x'}, size)
	send := func(n int) {
		dst.n.Store(0)
		dst.target.Store(int64(n))
		var serr error
		if err := ctx.Scheduler().Run(func() {
			for range n {
				if serr = ctx.Messages().Send(to.ID, payload); serr != nil {
					return
				}
			}
		}); err != nil || serr != nil {
			b.Fatal(err, serr)
		}
		<-dst.done
	}
	send(1) // handshake outside the timed loop
	if sealed := f.Stats().Sealed; trusted != (sealed > 0) {
		b.Fatalf("trusted=%v but %d records sealed", trusted, sealed)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	send(b.N)
}

func BenchmarkAgentToAgent(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, mode := range []struct {
			name    string
			trusted bool
		}{{"Plaintext", false}, {"Encrypted", true}} {
			b.Run(fmt.Sprintf("%s%s", mode.name, sizeName(size)), func(b *testing.B) {
				benchAgentToAgent(b, size, mode.trusted, false)
			})
		}
	}
}

// BenchmarkAgentToAgentConsumed is BenchmarkAgentToAgent with a receiver
// that reads each payload, so both modes pay for moving the bytes to the
// receiving core (the encrypted mode must, to decrypt).
func BenchmarkAgentToAgentConsumed(b *testing.B) {
	for _, mode := range []struct {
		name    string
		trusted bool
	}{{"Plaintext", false}, {"Encrypted", true}} {
		b.Run(mode.name+"1KB", func(b *testing.B) { benchAgentToAgent(b, 1024, mode.trusted, true) })
	}
}

func sizeName(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%dKB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}
