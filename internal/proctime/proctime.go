// Package proctime reads the CPU time the process has used, as getrusage(2)
// reports it on Unix, for memcached's rusage_user and rusage_system and for
// benchmarks that report CPU per operation.
package proctime

import "time"

// Total is user plus system CPU time.
func Total() (time.Duration, error) {
	user, system, err := Times()
	return user + system, err
}
