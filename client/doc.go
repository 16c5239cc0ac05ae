// Package client is a memcached client for many servers (thesis §4.8): text,
// meta and binary protocols, consistent hashing, connection pools, and an
// asynchronous form for pipelining, over TCP, TLS or Diggi sockets.
//
// The transport is only a dialer (Config.Dial), so the same client runs over
// TCP, TLS (Config.TLS, or Config.NewTLS for a configuration per connection
// such as RA-TLS with a fresh nonce, wraps whatever the dialer returns) or a
// Diggi socket. One pool may mix them: each server may name its own
// network (ServerConfig.Network) and DialNetworks gives each network its
// dialer, so TCP servers and cache agents reached by Diggi address share
// one ketama ring, and Sensitive keys still go to Trusted servers only.
// TLS, when set, covers every server of the pool.
// Keys map to servers with libmemcached-compatible weighted ketama or modulo
// hashing (package ketama), so a C client and this one agree on where every
// key lives.
//
// Every connection is multiplexed: requests are written as they come and a
// reader goroutine hands each reply to its caller (by opaque in the binary
// protocol, in order in text and meta), so many requests can be outstanding
// on one connection. Every operation has an *Async form that returns a
// Pending to collect later (the thesis's Listing 4.5); the plain form sends
// and waits.
//
// Servers that fail FailureLimit times in a row are left alone for a backoff
// that doubles up to MaxBackoff; with Rehash their keys move to the others.
// Values at least CompressThreshold bytes long are stored zlib-compressed and
// marked with FlagCompressed (client flags bit 30). Calls made with the
// Sensitive option only go to servers marked Trusted (thesis §6.2.2).
//
// This package must never import the server, the engine or Diggi.
package client
