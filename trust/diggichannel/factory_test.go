package diggichannel

import (
	"errors"
	"sync"
	"testing"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testsim"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/channel"
)

func TestFactoryPairsAgree(t *testing.T) {
	tb := newTestbed(t, bedOptions{trusted: [2]bool{true, true}})
	a, b := tb.info(t, "alice"), tb.info(t, "bob")
	ab, err := tb.factory.Channel(a, b)
	if err != nil || ab == nil {
		t.Fatalf("alice->bob: %v", err)
	}
	ba, err := tb.factory.Channel(b, a)
	if err != nil || ba == nil {
		t.Fatalf("bob->alice: %v", err)
	}
	if _, err := ab.Seal(nil, &diggi.Header{}, nil, []byte("early")); !errors.Is(err, ErrNotEstablished) {
		t.Fatalf("Seal before the handshake: %v", err)
	}
	connect(t, ab, ba)
	ea, _ := tb.factory.Enclave(a)
	eb, _ := tb.factory.Enclave(b)
	if ab.Peer() == nil || ab.Peer().Measurement != eb.Measurement() || ba.Peer().Measurement != ea.Measurement() {
		t.Fatal("channels did not verify the right peers")
	}
	if ea.Measurement() == eb.Measurement() {
		t.Fatal("different agents share a measurement")
	}
	h := diggi.Header{Src: a.ID, Dst: b.ID, Type: diggi.TypeRegular, Seq: 1}
	rec, err := ab.Seal(nil, &h, nil, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ba.Open(rec[:0], &h, rec); err != nil || string(got) != "hi" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	h.Seq = 2 // the router changed the clear header
	rec, _ = ab.Seal(nil, &diggi.Header{Src: a.ID, Dst: b.ID, Type: diggi.TypeRegular, Seq: 3}, nil, []byte("x"))
	if _, err := ba.Open(nil, &h, rec); !errors.Is(err, channel.ErrTampered) {
		t.Fatalf("rewritten header accepted: %v", err)
	}
}

func TestFactoryRefusals(t *testing.T) {
	tb := newTestbed(t, bedOptions{trusted: [2]bool{true, true}})
	a, b := tb.info(t, "alice"), tb.info(t, "bob")
	if _, err := tb.factory.Channel(a, a); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("self channel: %v", err)
	}
	if _, err := tb.factory.Channel(a, diggi.Info{ID: 99}); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("unknown peer: %v", err)
	}
	remote := b
	remote.Instance = "elsewhere"
	if _, err := tb.factory.Channel(a, remote); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("unconfigured remote peer: %v", err)
	}
	// A runtime that claims a trusted peer is untrusted (to skip its
	// attestation, or to get plaintext) is refused.
	liar := b
	liar.Trusted = false
	if _, err := tb.factory.Channel(a, liar); !errors.Is(err, ErrTrustMismatch) {
		t.Fatalf("lying directory: %v", err)
	}
	if _, err := tb.factory.Enclave(liar); !errors.Is(err, ErrTrustMismatch) {
		t.Fatalf("lying directory, enclave: %v", err)
	}
}

func TestFactoryUntrustedPairs(t *testing.T) {
	for _, allow := range []bool{false, true} {
		tb := newTestbed(t, bedOptions{allowPlaintext: allow})
		ch, err := tb.factory.Channel(tb.info(t, "alice"), tb.info(t, "bob"))
		if err != nil {
			t.Fatal(err)
		}
		if (ch == nil) != allow {
			t.Fatalf("AllowPlaintext=%v: channel %v", allow, ch)
		}
		if ch != nil && ch.Peer() != nil {
			t.Fatal("untrusted peer produced claims")
		}
	}
}

// TestHandshakeThroughAdversarialRouter flips a bit in every handshake
// message the router carries: no channel is established, nothing is
// delivered, and sends to the peer then fail.
func TestHandshakeThroughAdversarialRouter(t *testing.T) {
	var mu sync.Mutex
	flipped := 0
	flip := diggi.RouterFunc(func(m *diggi.Message, fwd diggi.Forwarder) {
		if m.Type == diggi.TypeHandshake {
			p := m.Payload()
			p[len(p)-1] ^= 1
			mu.Lock()
			flipped++
			mu.Unlock()
		}
		_ = fwd.Forward(m)
	})
	tb := newTestbed(t, bedOptions{trusted: [2]bool{true, true}, router: flip})
	bob := tb.info(t, "bob").ID
	tb.run(t, "alice", func(ctx *diggi.Context) error { return ctx.Messages().Send(bob, []byte("x")) })
	var sendErr error
	waitUntil(t, "the failed handshake to surface", func() bool {
		tb.run(t, "alice", func(ctx *diggi.Context) error {
			sendErr = ctx.Messages().TryPost(bob, diggi.TypeRegular, 0, []byte("y"))
			return nil
		})
		return sendErr != nil && !errors.Is(sendErr, diggi.ErrWouldBlock)
	})
	if len(tb.bob.payloads()) != 0 {
		t.Fatal("bob received data over a tampered handshake")
	}
	mu.Lock()
	defer mu.Unlock()
	if flipped == 0 {
		t.Fatal("router saw no handshake message")
	}
}

func TestFactoryPolicyRefusesWrongMeasurement(t *testing.T) {
	w := testsim.New(t)
	cfg := diggi.Config{Instance: "x", Agents: []diggi.AgentConfig{{Name: "a", Kind: "k", Trusted: true}, {Name: "b", Kind: "k", Trusted: true}}}
	spec, err := AgentsFromConfig(cfg, trust.Signer{1})
	if err != nil {
		t.Fatal(err)
	}
	strict := func(_, _ diggi.Info, _ trust.LaunchSpec) (*trust.Verifier, error) {
		// Only a measurement nobody has: simulates an operator who pinned
		// a different build.
		return trust.NewVerifier(trust.Policy{Measurements: []trust.Measurement{{9}}, AllowSimulated: true,
			SimRoots: w.SimRoots()})
	}
	f, err := New(Options{Backend: w.Backend, Agents: spec, Policy: strict, AllowSimulated: true,
		SimRoots: w.SimRoots(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	a := diggi.Info{ID: 1, Name: "a", Kind: "k", Instance: "x", Trusted: true}
	b := diggi.Info{ID: 2, Name: "b", Kind: "k", Instance: "x", Trusted: true}
	ab, err := f.Channel(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := f.Channel(b, a)
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := ab.Begin()
	_, _ = ba.Begin()
	m2, _, err := ba.Step(m1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ab.Step(m2); !errors.Is(err, trust.ErrMeasurementNotAllowed) {
		t.Fatalf("err = %v", err)
	}
	// Without a backend, trusted agents cannot launch.
	f2, _ := New(Options{Agents: spec, Logger: quiet})
	if _, err := f2.Channel(a, b); err == nil {
		t.Fatal("trusted agents launched without a backend")
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("factory without Agents")
	}
}

func TestAgentsFromConfigMeasuresOptions(t *testing.T) {
	base := diggi.Config{Instance: "i", Agents: []diggi.AgentConfig{
		{Name: "cache", Kind: "securecached", Trusted: true, Options: diggi.Options{"m": "64", "t": "4"}},
	}}
	changed := base
	changed.Agents = []diggi.AgentConfig{base.Agents[0]}
	changed.Agents[0].Options = diggi.Options{"m": "128", "t": "4"}
	info := diggi.Info{ID: 1, Name: "cache", Kind: "securecached", Instance: "i", Trusted: true}
	measure := func(cfg diggi.Config) trust.Measurement {
		spec, err := AgentsFromConfig(cfg, trust.Signer{1})
		if err != nil {
			t.Fatal(err)
		}
		s, err := spec.Spec(info)
		if err != nil {
			t.Fatal(err)
		}
		return trust.Measure(s.Identity, s.Config)
	}
	if measure(base) != measure(base) {
		t.Fatal("measurement not deterministic")
	}
	if measure(base) == measure(changed) {
		t.Fatal("changing an option did not change the measurement")
	}
	spec, _ := AgentsFromConfig(base, trust.Signer{1})
	if _, err := spec.Spec(diggi.Info{Name: "other", Instance: "i"}); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("unknown agent: %v", err)
	}
	remote := diggi.Info{Name: "cache", Instance: "j", Trusted: true}
	if _, err := spec.Trusted(remote); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("undescribed remote agent: %v", err)
	}
	peerCfg := base
	peerCfg.Instance = "j"
	if err := spec.Add(peerCfg); err != nil {
		t.Fatal(err)
	}
	if tr, err := spec.Trusted(remote); err != nil || !tr {
		t.Fatalf("described remote agent: %v, %v", tr, err)
	}
	if err := spec.Add(peerCfg); err == nil {
		t.Fatal("the same instance described twice")
	}
}
