package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/securecached/securecached/config"
)

// printLicense is -i. memcached prints its own and libevent's licenses;
// securecached has no libevent, so it names what is built into the
// binary: the Go toolchain and each module, whose license texts ship with
// their sources (go mod download puts them in the module cache).
func printLicense(w io.Writer) {
	fmt.Fprintln(w, config.VersionLine)
	fmt.Fprintf(w, "\nBuilt with %s (BSD-style license, https://go.dev/LICENSE).\n", runtime.Version())
	bi, ok := debug.ReadBuildInfo()
	if !ok || len(bi.Deps) == 0 {
		return
	}
	fmt.Fprintln(w, "\nModules built into this binary; each module's license file is part of its source:")
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		fmt.Fprintf(w, "  %s %s\n", m.Path, m.Version)
	}
}
