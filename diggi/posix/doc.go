// Package posix is Diggi's POSIX-style I/O over messages (thesis §4.4–4.7):
// file descriptors backed by handles with event registration and poll;
// stream sockets whose segments are TypeNetIO messages of the message
// manager (listen by port within an instance, connect to an agent, TCP-like
// flow control, half-close, reset); pipes on a ring buffer; and the libevent
// subset memcached needs (set/add/del, READ/WRITE/PERSIST, rescheduling
// until drained).
//
// Cork and Uncork let an agent that serves many connections send a burst
// of small writes to one peer agent as a single message (batch.go).
//
// Everything here is per agent and runs under the agent's baton: a blocking
// call releases the baton while it waits (Scheduler.Block) so the agent's
// other tasks run. Goroutines of their own (net/http's) reach a socket
// through diggi/netconn, which takes the baton per operation.
//
// This package must never import memcached code.
package posix
