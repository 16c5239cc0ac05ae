// Package config turns memcached's command line (-p, -m, -o a=b,c, ...) and
// SecureCached's configuration file into validated settings. Invalid settings
// are rejected with memcached's messages before anything starts.
package config
