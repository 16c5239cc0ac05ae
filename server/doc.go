// Package server runs SecureCached: it owns the listeners and hands each
// connection's bytes to a conn state machine, which calls the single-threaded
// engine while holding the engine's baton.
package server
