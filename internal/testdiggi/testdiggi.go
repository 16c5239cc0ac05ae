package testdiggi

import (
	"io"
	"log/slog"
	"testing"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/diggichannel"
)

// Signer signs every test agent's enclave.
var Signer = trust.SignerFromKey([]byte("test"))

// Quiet discards the runtime's logs.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Channels launches a fresh sim world and the channel factory for cfg's
// agents on it: trusted agents get enclaves signed by Signer and verify
// each other's sim evidence. allowPlaintext lets untrusted agents talk in
// the clear, as a deployment with trust backend "none" does.
func Channels(t testing.TB, cfg diggi.Config, allowPlaintext bool) (*testsim.World, *diggichannel.Factory) {
	t.Helper()
	sim := testsim.New(t)
	spec, err := diggichannel.AgentsFromConfig(cfg, Signer)
	if err != nil {
		t.Fatal(err)
	}
	f, err := diggichannel.New(diggichannel.Options{
		Backend: sim.Backend, Agents: spec, AllowSimulated: true,
		SimRoots: sim.SimRoots(), AllowPlaintext: allowPlaintext, Logger: Quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	return sim, f
}

// Start creates and starts an instance (with Quiet as its logger unless o
// has one) and stops it when the test ends, reporting a failed stop.
func Start(t testing.TB, cfg diggi.Config, o diggi.InstanceOptions) *diggi.Instance {
	t.Helper()
	if o.Logger == nil {
		o.Logger = Quiet
	}
	in, err := diggi.NewInstance(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return in
}
