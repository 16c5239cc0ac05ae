package testdiggi

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/diggi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// starter reports its Start on a channel.
type starter struct{ started chan<- string }

func (s starter) Init(*diggi.Context) error { return nil }
func (s starter) Start(ctx *diggi.Context) error {
	s.started <- ctx.Info().Name
	return nil
}
func (starter) Receive(*diggi.Message) {}
func (starter) Stop(*diggi.Context)    {}

// TestStartRunsTrustedAndUntrustedAgents: an instance with a trusted and an
// untrusted agent starts both over Channels' factory, and the cleanup
// stops it (goleak checks nothing is left running).
func TestStartRunsTrustedAndUntrustedAgents(t *testing.T) {
	cfg := diggi.Config{Instance: "t", Agents: []diggi.AgentConfig{
		{Name: "inside", Kind: "starter", Trusted: true},
		{Name: "outside", Kind: "starter"},
	}}
	sim, f := Channels(t, cfg, true)
	if sim.Root == nil || f == nil {
		t.Fatal("Channels returned nothing")
	}
	started := make(chan string, 2)
	reg := diggi.NewRegistry()
	if err := reg.Register("starter", func() diggi.Agent { return starter{started} }); err != nil {
		t.Fatal(err)
	}
	in := Start(t, cfg, diggi.InstanceOptions{Registry: reg, Channels: f.ChannelFactory()})
	got := map[string]bool{<-started: true, <-started: true}
	if !got["inside"] || !got["outside"] {
		t.Errorf("started %v, want inside and outside", got)
	}
	if _, ok := in.Context("inside"); !ok {
		t.Error("no context for the trusted agent")
	}
}
