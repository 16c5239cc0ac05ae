// Package testcert writes a throwaway self-signed TLS certificate and key
// for servers configured with ssl_chain_cert/ssl_key, and gives the pool a
// client needs to trust it: for tests, and for scbench's --tls, which
// serves both compared servers the same certificate.
package testcert
