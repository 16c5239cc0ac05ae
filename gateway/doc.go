// Package gateway is SecureCached's untrusted front door: a Diggi agent that
// owns the kernel's TCP listeners (memcached's -p, -l, -c, -b) or unix
// socket (-s, -a) and relays bytes between each client and a Diggi socket of
// a cache agent (package cacheagent). It never parses the protocol; with
// -Z it relays TLS records it cannot read, since TLS terminates inside the
// cache agent.
//
// What a relay must guarantee is here: back-pressure both ways (a
// connection reads from one side only as fast as the other side takes the
// bytes), the connection limit, the idle timeout, and independence (a slow
// or dead client holds up only its own connection).
//
// The gateway must never depend on the engine or the protocol packages.
package gateway
