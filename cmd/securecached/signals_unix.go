//go:build unix

package main

import (
	"os"
	"syscall"
)

// stopSignals stop the server; SIGUSR1 is memcached's graceful stop.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1}

// isGraceful reports whether sig asks for memcached's graceful stop, which
// writes -e's warm restart file.
func isGraceful(sig os.Signal) bool { return sig == syscall.SIGUSR1 }
