//go:build !unix

package main

import (
	"os"
	"syscall"
)

// caughtSignals: off Unix there is no SIGUSR1 or SIGHUP; an interrupt or
// SIGTERM stops the server.
var caughtSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func gracefulSignal(os.Signal) bool { return false }

func ignoredSignal(os.Signal) bool { return false }
