// Package netconn adapts Diggi sockets (diggi/posix) to net.Listener and
// net.Conn, so that unmodified Go networking code — net/http, crypto/tls,
// a memcached client — runs inside an agent over messages.
//
// The adapters are for code that does not hold the agent's baton: the
// goroutines such libraries start themselves, or agent code that wraps a
// blocking library call in Scheduler.Block. Each operation takes the baton
// just long enough to touch the socket (Scheduler.Run) and waits for
// readiness without it, so the agent's own tasks keep running. Close works
// from anywhere, including agent code. Never wait for such a goroutine
// while holding the baton (it may be waiting for the baton itself): wait
// inside Scheduler.Block, e.g. in an agent's Stop after http.Server.Close.
//
// This package must never import memcached code.
package netconn
