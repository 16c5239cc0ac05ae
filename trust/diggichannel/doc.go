// Package diggichannel plugs trust/channel into the Diggi runtime: it is a
// diggi.ChannelFactory that launches each agent's enclave, runs the
// attested Noise handshake for every pair of agents that talk, and adapts
// the resulting channel to diggi.Channel, authenticating the runtime's
// message header (source, destination, type, session, sequence) with every
// payload.
//
// Which pairs are protected is trust.ChannelProtection's decision: always
// encrypted when either agent is trusted; plaintext only between two
// untrusted agents when the configuration allows it. A trusted agent
// requires its peer's evidence when the peer is trusted; an untrusted agent
// talking to a trusted one verifies the trusted one. Who is trusted comes
// from the instance configuration (Agents), and a runtime directory that
// disagrees with it is refused (ErrTrustMismatch) rather than believed.
//
// Limitation: diggi's factory is synchronous and both agents of a pair ask
// it independently, so the handshake runs inside the factory, between two
// enclaves of the same instance, with its three messages passed through the
// Transport hook rather than through the message queues. Tests use the hook
// to observe and attack the handshake. Agents of other instances (over
// links) need the handshake carried in messages; see SECURITY.md.
//
// This package imports diggi; diggi must never import it.
package diggichannel
