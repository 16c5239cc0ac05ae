// Package conn is memcached's per-connection state machine: it consumes the
// bytes a client sent and produces the bytes to send back, calling the engine
// in between. It owns no socket and no goroutine, so the same code runs behind
// a TCP listener or inside a Diggi agent (thesis §4.3).
//
// This package must never import the network or Diggi.
package conn
