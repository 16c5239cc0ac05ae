package trust

// Protection is how a channel between two agents is protected.
type Protection int

const (
	// Plaintext: both ends untrusted and the configuration allows it.
	Plaintext Protection = iota
	// Encrypted: an authenticated key exchange, then AEAD on every message.
	Encrypted
)

func (p Protection) String() string {
	if p == Plaintext {
		return "plaintext"
	}
	return "encrypted"
}

// ChannelProtection decides how to protect a channel. Whenever either end
// is trusted the answer is Encrypted: there is deliberately no setting that
// turns encryption off for trusted agents. Only two untrusted agents may
// talk in plaintext, and only when allowPlaintext is set.
func ChannelProtection(localTrusted, peerTrusted, allowPlaintext bool) Protection {
	if localTrusted || peerTrusted || !allowPlaintext {
		return Encrypted
	}
	return Plaintext
}
