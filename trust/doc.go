// Package trust provides enclave backends, attestation evidence and its
// verification, and sealing. Here live the none and sim backends, the
// evidence envelope, the Verifier and its Checker interface, the seal
// format and the trust-domain decision (ChannelProtection). Subpackages
// build on it: snp and tdx (the SEV-SNP and TDX confidential-VM backends
// and their checkers), auto (choosing the backend present), channel (the
// attested, encrypted agent-to-agent channel as a pure state machine),
// diggichannel (that channel plugged into the Diggi runtime), ratls
// (attested TLS certificates for the outside world) and ca (an
// attestation-gated certificate authority for clients that cannot read
// evidence).
//
// The model follows SGX and confidential VMs: a Backend launches an
// Enclave for an agent; the enclave produces Evidence binding 64 bytes of
// report data (a key hash and a verifier's nonce) and derives sealing keys
// from a secret only it can obtain. A Verifier accepts evidence only under
// an explicit Policy, through the Checker of the evidence's backend, which
// derives every claim from what it verified. Under sim an enclave is one
// agent, named by its Measurement (SHA-256 over its code identity and
// configuration) and Signer; under sev-snp and tdx it is the whole VM,
// named by the hardware's launch measurement.
//
// The sim backend keeps every structure real but its root of trust is a
// software key and its isolation is none: simulated evidence says so, and
// verifiers refuse it unless Policy.AllowSimulated is set. See SECURITY.md.
//
// This package must never import the runtime (diggi) or memcached code.
package trust
