// Package cacheagent runs SecureCached's cache as one Diggi agent: the
// memcache engine and a conn state machine per client, driven by Diggi
// sockets and the posix event framework on the agent's single thread
// (thesis §4.3, Figure 4.3: many logical workers, one thread). The same
// code runs trusted or untrusted; only the agent's configuration differs.
//
// With -Z the agent terminates TLS itself (crypto/tls over diggi/netconn),
// so plaintext values exist only inside the agent; a trusted agent without
// a configured certificate presents an RA-TLS certificate carrying its
// enclave's evidence (trust/ratls).
//
// With -e a trusted agent writes its items, sealed to its enclave, at a
// graceful stop and restores them at start (warm.go, trust/sealstream).
//
// The package never opens a kernel socket: clients reach it through the
// gateway agent (package gateway), which relays bytes it cannot read.
package cacheagent
