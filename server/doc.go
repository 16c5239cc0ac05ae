// Package server assembles a SecureCached deployment: one Diggi instance
// with gateway agents (package gateway) owning the sockets and cache agents
// (package cacheagent) holding the data, trusted or not, and the trust
// backend behind the trusted ones (the sim backend with its identity in a
// state directory, or none). A Layout describes the deployment; the
// default one is what securecached's memcached-style command line means,
// and a JSON configuration file describes larger ones.
//
// The package wires; it does no I/O on the data path itself and must not
// depend on the engine or protocol packages.
package server
