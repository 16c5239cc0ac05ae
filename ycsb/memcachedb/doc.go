// Package memcachedb is YCSB's memcached binding over package client: the
// ycsb.DB that scbench drives over TCP and that YCSB client agents drive
// over Diggi sockets. Records are stored under "TABLE-KEY"; inserts are
// adds and updates are replaces, as in YCSB's memcached binding.
package memcachedb
