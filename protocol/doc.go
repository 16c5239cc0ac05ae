// Package protocol holds memcached's three wire formats as codecs: the text
// protocol, the meta protocol and the binary protocol. Parsers are incremental
// (a request split at any byte parses the same) and bounded (they never buffer
// more than the request allows); encoders append to caller-owned buffers.
//
// The server side (parse requests, encode responses) and the client side
// (encode requests, parse responses) live here together, so the server and the
// client agree on one definition of the wire.
//
// This package must never import the engine, the network or Diggi.
package protocol
