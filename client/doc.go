// Package client is a memcached client for many servers (thesis §4.8): text,
// meta and binary protocols, consistent hashing, connection pools, and an
// asynchronous form for pipelining, over TCP, TLS or Diggi sockets.
package client
