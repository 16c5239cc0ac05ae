// Package ratls makes attested TLS (RA-TLS) certificates and configurations:
// a trusted agent creates a key pair and a self-signed certificate whose
// extension carries enclave evidence binding the certificate's public key
// (and, when the client supplies one, a client nonce). A client verifies
// the evidence against a trust.Policy instead of a CA chain, so the TLS
// session it gets ends inside the attested agent, and the untrusted gateway
// in between only relays records. Used for memcached's -Z TLS terminated
// inside the cache agent, and for clients and links that want proof of
// what they talk to.
//
// Freshness. TLS 1.3 gives a server no client-chosen value before it
// presents its certificate except the ClientHello's fields, of which Go
// exposes the server name. A client that wants a nonce puts it in SNI
// (NonceServerName); the server then issues a certificate whose evidence
// binds that nonce. Clients that cannot do this verify sim evidence's
// age instead (trust.Policy.MaxAge); the server renews its nonce-less
// certificate well within that age. Hardware evidence (sev-snp, tdx)
// carries no signed time, so without a nonce it shows what the server
// was, not when; stock memcached clients, which can neither send a nonce
// nor read evidence, are served by the attestation-gated CA (trust/ca).
//
// The TLS keys are ECDSA P-256, which every TLS 1.3 client supports.
package ratls
