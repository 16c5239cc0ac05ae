// Package server runs SecureCached: it owns the listeners and hands each
// connection's bytes to a conn state machine, which calls the single-threaded
// engine while holding the engine's baton.
//
// It has two halves. Cache and Session are the cache agent: engine, baton
// and state machines, bytes in and bytes out, no sockets. A relay moves the
// bytes: either a goroutine per client on any net.Listener, or (the default
// on Linux) -t level-triggered epoll loops on kernel sockets, which spend a
// read and a write per request as memcached does. Only the relay knows about
// sockets, so a Diggi gateway agent can replace it.
package server
