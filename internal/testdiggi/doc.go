// Package testdiggi starts Diggi instances for the cache agent and gateway
// tests: the secure channels between agents on the sim trust backend, and
// an instance that stops when the test ends.
package testdiggi
