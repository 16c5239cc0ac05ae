// Command securecached is a memcached 1.6-compatible cache server. It takes
// memcached's command-line flags (see README.md, "Flags", or -h).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/securecached/securecached/config"
	"github.com/securecached/securecached/memcache"
	"github.com/securecached/securecached/server"
)

// Exit statuses follow memcached: 64 (EX_USAGE) for a bad command line,
// 71 (EX_OSERR) when the server cannot start.
const (
	exitUsage = 64
	exitOSErr = 71
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	set, err := config.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if set.ShowHelp {
		config.Usage(stdout)
		return 0
	}
	if set.ShowVersion {
		fmt.Fprintln(stdout, config.VersionLine)
		return 0
	}
	for _, w := range set.Warnings {
		fmt.Fprintln(stderr, "WARNING:", w)
	}
	// -t: the engine is one single-threaded agent; -t sets how many OS
	// threads run Go code at once, i.e. connection I/O and parsing.
	runtime.GOMAXPROCS(set.Threads)

	srv, err := server.New(set, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, config.ErrUsage) || errors.Is(err, memcache.ErrInvalidConfig) {
			return exitUsage
		}
		return exitOSErr
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			if set.Verbose > 0 {
				fmt.Fprintf(stderr, "Signal handled: %v.\n", sig)
			}
			srv.Shutdown()
		case <-srv.Done():
		}
	}()
	if err := srv.Serve(); err != nil {
		fmt.Fprintln(stderr, err)
		return exitOSErr
	}
	return 0
}
