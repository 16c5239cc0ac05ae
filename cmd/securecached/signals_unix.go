//go:build unix

package main

import (
	"os"
	"syscall"
)

// caughtSignals are the signals securecached handles as memcached 1.6.18
// does: SIGINT and SIGTERM stop it, SIGUSR1 stops it gracefully, and
// SIGHUP is caught and ignored, so a logrotate hook or systemd's
// ExecReload cannot take the cache down.
var caughtSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGHUP}

func gracefulSignal(sig os.Signal) bool { return sig == syscall.SIGUSR1 }

func ignoredSignal(sig os.Signal) bool { return sig == syscall.SIGHUP }
