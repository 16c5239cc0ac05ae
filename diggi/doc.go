// Package diggi is the agent runtime SecureCached runs on (thesis chapter 3):
// single-threaded agents that talk only by messages, a message manager with
// bounded per-agent queues, a global message scheduler that routes messages
// by agent id, and an instance that boots agents from a configuration.
//
// This package must never import memcached code.
package diggi
