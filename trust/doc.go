// Package trust provides enclave backends (none, sim), attestation evidence
// and its verification, sealing, encrypted channels between agents, and
// attested TLS certificates.
package trust
