// Package testwire holds the request/reply checks the cache agent, gateway,
// deployment and integration tests all make over a memcached connection:
// exact bytes for one request, and a client storing and reading back its
// own keys.
package testwire
