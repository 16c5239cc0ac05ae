// Package integration holds end-to-end tests: the securecached binary on a
// real loopback socket, driven by gomemcache, raw text/meta/binary sessions,
// libmemcached's tools (memccapable, memcslap, memcstat, memcflush), and
// scripted sessions that must get byte-identical answers from Debian's
// memcached 1.6 and from securecached. It has no non-test code.
package integration
