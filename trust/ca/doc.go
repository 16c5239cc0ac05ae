// Package ca is an attestation-gated certificate authority, in the spirit
// of MarbleRun's coordinator: it holds a CA key and a verification policy
// (a trust.Verifier); an instance asks for a fresh nonce, presents
// evidence that binds the nonce and the public key of a certificate
// request, and only if the evidence verifies does it get an ordinary,
// short-lived X.509 certificate for that key. Stock TLS clients and
// proxies then verify a normal chain to the CA's certificate, and the
// chain means "this server passed attestation under the CA's policy".
//
// Freshness comes from the nonce: each is single use and expires quickly,
// so replayed or stale evidence is refused. A Renewer keeps an instance's
// certificate current, asking again before it expires.
//
// The CA speaks JSON over HTTPS (Handler, Client); the client pins the
// CA's certificate. The package builds on trust; it must never import the
// runtime (diggi) or memcached code.
package ca
