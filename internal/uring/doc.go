// Package uring sends a batch of buffers, each to its own socket, in one
// system call: a minimal Linux io_uring with only what the gateway needs.
//
// Why: a relay writes the replies of a batch of clients one write(2) at a
// time. The first write wakes the load generator's thread that waits for
// it, and on a busy machine that thread takes the relay's processor when
// the write returns to user space, reads its one reply, finds nothing else
// ready and sleeps again; then the next write wakes it again. Submitted
// together, all of the batch's replies are written before the system call
// returns, so a woken client finds all of its replies at once, and the
// relay makes one system call instead of one per client.
//
// Every send is non-blocking (MSG_DONTWAIT), so the kernel completes each
// one while it submits it, and Send waits for nothing. Rings are not safe
// for concurrent use.
package uring
