package trust

// Protection is how a channel between two agents is protected.
type Protection int

const (
	// Plaintext: both ends untrusted and the configuration allows it.
	Plaintext Protection = iota
	// Encrypted: an authenticated key exchange, then AEAD on every message.
	Encrypted
	// InDomain: both ends are trusted agents inside one protected memory
	// domain (one confidential VM), so messages between them never leave
	// protected memory and are not sealed.
	InDomain
)

func (p Protection) String() string {
	switch p {
	case Plaintext:
		return "plaintext"
	case InDomain:
		return "in-domain (not sealed: one protected memory)"
	}
	return "encrypted"
}

// Domain is what a backend protects as one unit: which agents share a
// protected memory, so that messages between them stay inside it.
type Domain int

const (
	// DomainAgent: each trusted agent is its own enclave inside an
	// untrusted process, SGX's model, which sim simulates. The queues
	// between two trusted agents are untrusted memory.
	DomainAgent Domain = iota
	// DomainInstance: the whole instance is one confidential VM (SEV-SNP,
	// TDX). Its queues, router and runtime are in protected memory;
	// everything that leaves the instance (links, the network, disk) is
	// not.
	DomainInstance
)

func (d Domain) String() string {
	if d == DomainInstance {
		return "instance"
	}
	return "agent"
}

// DomainOf returns the protection domain of a backend.
func DomainOf(backend string) Domain {
	switch backend {
	case BackendSNP, BackendTDX:
		return DomainInstance
	}
	return DomainAgent
}

// Pair describes the two ends of a channel, as the local instance's
// configuration (not the runtime's directory) says.
type Pair struct {
	LocalTrusted, PeerTrusted bool
	// SameInstance says the peer runs in the local instance.
	SameInstance bool
	// Domain is the local instance's backend's domain.
	Domain Domain
	// AllowPlaintext lets two untrusted agents talk unencrypted.
	AllowPlaintext bool
}

// ChannelProtection decides how to protect a channel; it is the one place
// the seal decision is made. Two trusted agents of one instance on a
// DomainInstance backend share protected memory: InDomain. Otherwise,
// whenever either end is trusted the answer is Encrypted: there is
// deliberately no setting that turns encryption off for trusted agents,
// and a message that leaves the instance is always sealed. Only two
// untrusted agents may talk in plaintext, and only when AllowPlaintext.
func ChannelProtection(p Pair) Protection {
	switch {
	case p.LocalTrusted && p.PeerTrusted && p.SameInstance && p.Domain == DomainInstance:
		return InDomain
	case p.LocalTrusted || p.PeerTrusted || !p.AllowPlaintext:
		return Encrypted
	}
	return Plaintext
}
