// Package testenv finds and starts the real programs the integration tests
// compare against (Debian's memcached, libmemcached's tools, the securecached
// binary) on free loopback ports, and decides whether a missing tool is a skip
// or a failure (SECURECACHED_REQUIRE_TOOLS=1 in CI); and a few helpers any
// test may share (RaceEnabled, MustPanic).
package testenv
