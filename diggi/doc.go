// Package diggi is the agent runtime SecureCached runs on (thesis chapter 3):
// single-threaded agents that talk only by messages, a message manager with
// bounded per-agent queues, a global message scheduler that routes messages
// by agent id, and an instance that boots agents from a configuration.
//
// How the pieces fit:
//
//   - An Agent (Init, Start, Receive, Stop) gets a Context: its id, options,
//     trust flag, logger, directory of live agents, Scheduler and Manager.
//   - The Scheduler is the agent's one thread: tasks run in FIFO order by
//     whichever goroutine holds the agent's baton. A blocking call hands the
//     baton on while it waits (Block), so other tasks run; there is never a
//     nested event loop. Idle schedulers and the router park; nothing polls.
//   - The Manager sends through the agent's bounded outbound queue (a
//     lock-free single-producer ring) and dispatches its inbound queue from
//     a drain task, by message type; request/response sessions, timer
//     ticks and the per-pair Channel (payload sealing) live here.
//   - The mover is the global message scheduler: one goroutine that moves
//     messages in batches from outbound to inbound queues by AgentID,
//     preserving per-sender order, and holding a sender back (not dropping)
//     while its destination's queue is full. Its routing step is the Router
//     interface, which tests replace to watch or attack the untrusted path.
//   - A sender whose earlier messages have all been routed puts a message
//     straight into the destination's inbound queue. An event loop serving
//     many clients can also hold such deliveries and, once it has released
//     its baton, run the idle receivers' drains on its own goroutine,
//     replies included (Hold, Held.Run): run to completion, without
//     waking a worker per hop.
//   - Message buffers come from size-class pools; whoever holds a *Message
//     owns it, and handlers see transient messages (§4.6).
//
// diggi/posix builds sockets, pipes, poll and events on the Manager;
// diggi/netconn adapts them to net.Conn and net.Listener.
//
// This package must never import memcached code.
package diggi
