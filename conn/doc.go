// Package conn is memcached's per-connection state machine: it consumes the
// bytes a client sent and produces the bytes to send back, calling the engine
// in between. It owns no socket and no goroutine, so the same code runs behind
// a TCP listener or inside a Diggi agent (thesis §4.3). It logs nothing
// either: a host that wants memcached's -vv conversation log sets a Tracer
// and decides where the lines go.
//
// This package must never import the network or Diggi.
package conn
