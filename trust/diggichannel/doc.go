// Package diggichannel plugs trust/channel into the Diggi runtime: a
// diggi.ChannelFactory whose channels run the attested Noise handshake in
// band (diggi.Handshaker: TypeHandshake messages through the same
// untrusted queues, router and links as the data), then seal every payload
// with the runtime's message header (source, destination, type, session,
// sequence) as associated data. A channel whose peer's stream has a gap
// reports itself broken (diggi.Breakable); the runtime then asks for a new
// one and the pair re-handshakes.
//
// Which pairs are protected is trust.ChannelProtection's decision, made on
// the trust domain of the backend. Under sim (SGX's model: each trusted
// agent its own enclave) a channel is always encrypted when either agent
// is trusted. Under sev-snp and tdx the whole instance is one confidential
// VM: two trusted agents of that instance get no channel (their messages
// stay in protected memory), while a channel to an untrusted agent or to
// any agent of another instance is always encrypted. Plaintext between two
// untrusted agents only when the configuration allows it. A trusted agent
// requires its peer's evidence when the peer is trusted; an untrusted agent
// talking to a trusted one verifies the trusted one. Who is trusted comes
// from the instance configuration (Agents), and a runtime directory that
// disagrees with it is refused (ErrTrustMismatch) rather than believed.
//
// This package imports diggi; diggi must never import it.
package diggichannel
