//go:build !unix

package main

import (
	"os"
	"syscall"
)

// stopSignals stop the server; there is no SIGUSR1 here, so "shutdown
// graceful" is the only graceful stop.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

func isGraceful(os.Signal) bool { return false }
