// Package testcert writes a throwaway self-signed TLS certificate and key
// for tests that configure a server with ssl_chain_cert/ssl_key, and gives
// the pool a client needs to trust it.
package testcert
