// Package ketama maps keys to servers the way libmemcached's weighted ketama
// and modulo distributions do, so a Go client and a C client agree on where
// every key lives.
package ketama
