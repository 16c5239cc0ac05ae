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
// The package is split the way etcd's raft splits a node from its storage
// and transport:
//
//   - relay.go: one client's relay as a state machine that owns no socket.
//     Bytes and outcomes in; bytes to write, events to want, a half-close
//     and a close decision out. Its doc comment holds the invariants (no
//     byte reordered or lost; a client that does not read costs at most a
//     chunk each way; one close, hence one -c slot release), and
//     relay_test.go checks them without sockets, with a replayable seed.
//   - relay_epoll_linux.go: the event loop that drives those state machines
//     over kernel sockets and Diggi sockets, in one scheduling mode.
//   - reply_linux.go: how replies reach clients' sockets, behind one small
//     interface: an io_uring batch per burst, or write(2) per reply.
//   - relay_goroutine.go: the same state machine driven by two blocking
//     goroutines per client (-o relay=goroutine, and off Linux).
//   - slot.go: the one type that owns a -c slot and gives it back once.
//   - group.go, accept.go: gateways that share listeners, talking by Diggi
//     messages: the leader accepts and hands clients to its members.
//
// The gateway must never depend on the engine or the protocol packages.
package gateway
