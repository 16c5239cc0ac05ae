// Package trust provides enclave backends (none, sim), attestation evidence
// and its verification, and sealing. Subpackages build on it: channel (the
// attested, encrypted agent-to-agent channel as a pure state machine),
// diggichannel (that channel plugged into the Diggi runtime) and ratls
// (attested TLS certificates for the outside world).
//
// The model follows SGX and confidential VMs: a Backend launches an
// Enclave for an agent; the enclave has a Measurement (SHA-256 over the
// agent's code identity and configuration) and a Signer; it produces
// Evidence binding 64 bytes of report data (a key hash and a verifier's
// nonce), signed by a platform key that chains to a root; it derives
// sealing keys from a platform secret and its measurement or signer. A
// Verifier accepts evidence only under an explicit Policy.
//
// The sim backend keeps every structure real but its root of trust is a
// software key and its isolation is none: simulated evidence says so, and
// verifiers refuse it unless Policy.AllowSimulated is set. See SECURITY.md.
//
// This package must never import the runtime (diggi) or memcached code.
package trust
