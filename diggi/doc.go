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
//   - Message buffers come from size-class pools; whoever holds a *Message
//     owns it, and handlers see transient messages (§4.6), unless a handler
//     takes one's buffer with Manager.Keep and releases it later, exactly
//     once (the invariant is written at Keep; Release panics on a second
//     release). diggi/posix keeps large socket segments so.
//
// # Every path of a message, and its invariant
//
// A message reaches an agent one way: its inbound queue (endpoint.in),
// filled by the routing step, and it is dispatched one way: by the drain
// task (Manager.drain), under the agent's baton, by whoever holds the
// drain token. Who runs the routing step, and who runs the drain, each
// have one alternative:
//
//  1. Routing by the mover (mover.pump, Router.Route, mover.Forward,
//     endpoint.pushIn). Invariant: per-sender FIFO; a message for a full
//     inbound queue waits in the sender's outbound queue (the mover skips
//     that sender) or in the receiver's overflow, never dropped; the
//     receiver's drain is notified after the push (touch, notify).
//  2. Routing by the sender itself (endpoint.tryDirect), only with the
//     default router and only when every message it queued before has
//     been routed (routed == out.tail), so FIFO holds; a full inbound
//     queue makes it use path 1. Same push, same notify.
//  3. The drain token (endpoint.arm, endpoint.disarm; nowhere else):
//     whoever pushes calls notify after the push; a drain that finds the
//     queue empty gives the token up and looks again, so no message is
//     left without a drain.
//  4. The drain runs on one of the agent's workers (Schedule), or, for
//     deliveries the sender held (Manager.Hold, Release), on the
//     releasing goroutine through Held.Run: the one run-to-completion
//     shortcut, an explicit enclave entry (see hold.go and
//     docs/runtime.md). Same drain, same baton, same token.
//
// The baton is taken only under Scheduler.mu: free and taken (acquire,
// runHere for Held.Run, Schedule granting a worker), or handed by handoff
// to the first goroutine in ready (a Block, Run or acquire that waited,
// a parked Call or sender, a Yield) or else to a worker.
//
// Back-pressure is by credit, with no lost wake-ups: a blocking sender
// waits for the mover to make room (endpoint.spaceWait); a non-blocking
// one that is refused arms Manager.AwaitRoom and is woken by the OnRoom
// task when room appears (the invariant is written at AwaitRoom). The
// POSIX layer never waits for queue room at all (diggi/posix room.go).
//
// diggi/posix builds sockets, pipes, poll and events on the Manager;
// diggi/netconn adapts them to net.Conn and net.Listener.
//
// This package must never import memcached code.
package diggi
