package diggichannel

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/channel"
)

// Errors the factory returns (wrapped).
var (
	// ErrUnknownPeer means the runtime named an agent the configuration
	// does not describe.
	ErrUnknownPeer = errors.New("diggichannel: unknown peer")
	// ErrTrustMismatch means the runtime's directory and the configuration
	// disagree on whether an agent is trusted: the runtime may be lying to
	// get a trusted agent to skip attestation or encryption.
	ErrTrustMismatch = errors.New("diggichannel: directory and configuration disagree on an agent's trust")
)

// Options configure a Factory.
type Options struct {
	// Backend launches trusted agents' enclaves. Required if any agent is
	// trusted. Its domain (trust.DomainOf) decides whether two trusted
	// agents of this instance seal what they send each other.
	Backend trust.Backend
	// Agents gives each agent's launch spec and configured trust (see
	// AgentsFromConfig). Required.
	Agents Agents
	// SimRoots are the simulation roots verifiers accept. Simulated
	// evidence is refused unless AllowSimulated is set.
	SimRoots       []*x509.Certificate
	AllowSimulated bool
	// PeerCheckers verify trusted peers on other instances that run on
	// hardware backends (by backend name: trust.BackendSNP, BackendTDX),
	// each with its own policy (launch measurement, TCB).
	PeerCheckers map[string]trust.Checker
	// Policy, if set, returns the verifier an agent applies to a trusted
	// peer whose launch spec is given. By default the peer must show the
	// measurement and signer of that spec.
	Policy func(self, peer diggi.Info, peerSpec trust.LaunchSpec) (*trust.Verifier, error)
	// AllowPlaintext lets two untrusted agents talk unencrypted. It has no
	// effect on trusted agents.
	AllowPlaintext bool
	// RekeyMessages and RekeyBytes bound traffic under one key (see
	// channel.Config).
	RekeyMessages, RekeyBytes uint64
	Logger                    *slog.Logger
}

// Factory is a diggi.ChannelFactory. Each agent gets its own channel
// object per peer; the two run the attested handshake through the runtime
// as TypeHandshake messages (diggi.Handshaker), so the handshake crosses the
// same untrusted queues, router and links as the data. Safe for concurrent
// use.
type Factory struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	enclaves map[diggi.AgentID]trust.Enclave
	current  map[pairKey]*Channel // each agent's latest channel per peer
	retired  channel.Stats        // counters of channels since replaced
}

type pairKey struct{ self, peer diggi.AgentID }

// New returns a factory.
func New(opts Options) (*Factory, error) {
	if opts.Agents == nil {
		return nil, fmt.Errorf("diggichannel: Options.Agents is required")
	}
	if opts.AllowSimulated && len(opts.SimRoots) == 0 {
		return nil, fmt.Errorf("diggichannel: AllowSimulated needs SimRoots")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Factory{
		opts:     opts,
		log:      log,
		enclaves: map[diggi.AgentID]trust.Enclave{},
		current:  map[pairKey]*Channel{},
	}, nil
}

// ChannelFactory returns the function to set as diggi.InstanceOptions.Channels.
func (f *Factory) ChannelFactory() diggi.ChannelFactory {
	return func(self, peer diggi.Info) (diggi.Channel, error) {
		ch, err := f.Channel(self, peer)
		if ch == nil || err != nil {
			return nil, err // a nil *Channel must not become a non-nil interface
		}
		return ch, nil
	}
}

// Protection is how messages from self to peer are protected: the trust
// domain decision of trust.ChannelProtection, on the configuration's view
// of the two agents (checkTrust refuses a directory that disagrees).
func (f *Factory) Protection(self, peer diggi.Info) trust.Protection {
	domain := trust.DomainAgent
	if f.opts.Backend != nil {
		domain = trust.DomainOf(f.opts.Backend.Name())
	}
	return trust.ChannelProtection(trust.Pair{
		LocalTrusted:   self.Trusted,
		PeerTrusted:    peer.Trusted,
		SameInstance:   self.Instance == peer.Instance,
		Domain:         domain,
		AllowPlaintext: f.opts.AllowPlaintext,
	})
}

// Channel returns a new, not yet established channel from self to peer, or
// nil when the pair needs none: two untrusted agents allowed plaintext, or
// two trusted agents inside one confidential VM (trust.InDomain), whose
// messages never leave protected memory.
func (f *Factory) Channel(self, peer diggi.Info) (*Channel, error) {
	if self.ID == peer.ID {
		return nil, fmt.Errorf("%w: %s cannot open a channel to itself", ErrUnknownPeer, self)
	}
	if err := f.checkTrust(self); err != nil {
		return nil, err
	}
	if err := f.checkTrust(peer); err != nil {
		return nil, err
	}
	if p := f.Protection(self, peer); p != trust.Encrypted {
		f.log.Debug("diggichannel: no channel", "from", self.String(), "to", peer.String(), "protection", p.String())
		return nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cfg, err := f.config(self, peer)
	if err != nil {
		return nil, fmt.Errorf("diggichannel: %s -> %s: %w", self, peer, err)
	}
	ch := &Channel{self: self.ID, peer: peer.ID, cfg: cfg}
	key := pairKey{self.ID, peer.ID}
	if old := f.current[key]; old != nil {
		addStats(&f.retired, old.Stats())
	}
	f.current[key] = ch
	return ch, nil
}

// checkTrust refuses an agent whose trust flag in the runtime's directory
// differs from the configuration's.
func (f *Factory) checkTrust(info diggi.Info) error {
	configured, err := f.opts.Agents.Trusted(info)
	if err != nil {
		return err
	}
	if configured != info.Trusted {
		return fmt.Errorf("%w: %s is trusted=%v in the directory, %v in the configuration", ErrTrustMismatch, info, info.Trusted, configured)
	}
	return nil
}

// Enclave returns the enclave of a local agent, launching it on first use.
// Untrusted agents get the none backend's enclave.
func (f *Factory) Enclave(info diggi.Info) (trust.Enclave, error) {
	if err := f.checkTrust(info); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enclave(info)
}

func (f *Factory) enclave(info diggi.Info) (trust.Enclave, error) {
	if e, ok := f.enclaves[info.ID]; ok {
		return e, nil
	}
	spec, err := f.opts.Agents.Spec(info)
	if err != nil {
		return nil, fmt.Errorf("launch spec for %s: %w", info, err)
	}
	var backend trust.Backend = trust.NoneBackend{}
	if info.Trusted {
		if f.opts.Backend == nil {
			return nil, fmt.Errorf("agent %s is trusted but no enclave backend is configured", info)
		}
		backend = f.opts.Backend
	}
	e, err := backend.Launch(spec)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", info, err)
	}
	f.enclaves[info.ID] = e
	return e, nil
}

// verifier returns what self requires of peer: nothing for an untrusted
// peer, evidence satisfying the policy for a trusted one.
func (f *Factory) verifier(self, peer diggi.Info) (*trust.Verifier, error) {
	if !peer.Trusted {
		return nil, nil
	}
	spec, err := f.opts.Agents.Spec(peer)
	if err != nil {
		return nil, err
	}
	if f.opts.Policy != nil {
		return f.opts.Policy(self, peer, spec)
	}
	var opts []trust.VerifierOption
	for name, c := range f.opts.PeerCheckers {
		opts = append(opts, trust.WithBackend(name, c))
	}
	return trust.NewVerifier(trust.Policy{
		Measurements:   []trust.Measurement{trust.Measure(spec.Identity, spec.Config)},
		Signers:        []trust.Signer{spec.Signer},
		AllowSimulated: f.opts.AllowSimulated,
		SimRoots:       f.opts.SimRoots,
	}, opts...)
}

func (f *Factory) config(self, peer diggi.Info) (channel.Config, error) {
	e, err := f.enclave(self)
	if err != nil {
		return channel.Config{}, err
	}
	v, err := f.verifier(self, peer)
	if err != nil {
		return channel.Config{}, fmt.Errorf("policy of %s for %s: %w", self, peer, err)
	}
	return channel.Config{
		Enclave:       e,
		Verifier:      v,
		RekeyMessages: f.opts.RekeyMessages,
		RekeyBytes:    f.opts.RekeyBytes,
		Logger:        f.log,
		Name:          self.String() + " <- " + peer.String(),
	}, nil
}

// Stats sums the counters of every channel the factory made, including
// channels since replaced after a break.
func (f *Factory) Stats() channel.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.retired
	for _, c := range f.current {
		addStats(&s, c.Stats())
	}
	return s
}

func addStats(s *channel.Stats, t channel.Stats) {
	s.Sealed += t.Sealed
	s.Opened += t.Opened
	s.Rekeys += t.Rekeys
	s.Malformed += t.Malformed
	s.Tampered += t.Tampered
	s.Replayed += t.Replayed
	s.Gaps += t.Gaps
	s.Broken += t.Broken
}
