// Command securecached is a memcached 1.6-compatible cache server running
// as Diggi agents: an untrusted gateway owning the TCP (or unix) sockets
// and a cache agent, trusted (in a simulated enclave) unless --untrusted,
// holding the data. It takes memcached's command-line flags (see README.md
// or -h), plus:
//
//	--config FILE     run the deployment FILE describes (several cache agents,
//	                  untrusted ones, TLS); memcached flags then only set -v, -t
//	--untrusted       run the default cache agent outside an enclave
//	--state-dir DIR   where the sim platform identity lives (also -o state_dir=DIR;
//	                  default $STATE_DIRECTORY, else ~/.local/state/securecached)
//	--backend NAME    trust backend: sim (default), auto, sev-snp, tdx
//	--allow-sim       let --backend auto fall back to sim without TEE hardware
//
// and the subcommands "securecached attest" (see attest.go) and
// "securecached ca" (see ca.go).
package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"

	"github.com/securecached/securecached/cacheagent"
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

// ownFlags are securecached's flags that memcached does not have.
type ownFlags struct {
	configFile string
	untrusted  bool
	stateDir   string
	backend    string
	allowSim   bool
	ca         server.CAOptions
}

// splitOwnFlags takes securecached's own long flags out of args, leaving
// memcached's for config.Parse.
func splitOwnFlags(args []string) (ownFlags, []string, error) {
	var o ownFlags
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "--untrusted", "--allow-sim":
			if hasVal {
				return o, nil, fmt.Errorf("%s takes no value", name)
			}
			if name == "--untrusted" {
				o.untrusted = true
			} else {
				o.allowSim = true
			}
		case "--config", "--state-dir", "--backend", "--ca-url", "--ca-cert", "--ca-name":
			if !hasVal {
				if i+1 >= len(args) {
					return o, nil, fmt.Errorf("%s needs a value", name)
				}
				i++
				val = args[i]
			}
			if val == "" {
				return o, nil, fmt.Errorf("%s needs a non-empty value", name)
			}
			switch name {
			case "--config":
				o.configFile = val
			case "--state-dir":
				o.stateDir = val
			case "--backend":
				o.backend = val
			case "--ca-url":
				o.ca.URL = val
			case "--ca-cert":
				o.ca.Cert = val
			default:
				o.ca.Names = append(o.ca.Names, strings.Split(val, ",")...)
			}
		default:
			rest = append(rest, a)
		}
	}
	return o, rest, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "attest" {
		return runAttest(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "ca" {
		return runCA(args[1:], stdout, stderr)
	}
	own, args, err := splitOwnFlags(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	set, err := config.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if set.ShowHelp {
		config.Usage(stdout)
		fmt.Fprint(stdout, ownUsage)
		return 0
	}
	if set.ShowVersion {
		fmt.Fprintln(stdout, config.VersionLine)
		return 0
	}
	if set.ShowLicense {
		printLicense(stdout)
		return 0
	}
	for _, w := range set.Warnings {
		fmt.Fprintln(stderr, "WARNING:", w)
	}
	layout, err := chooseLayout(own, args, set)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	runtime.GOMAXPROCS(threads(layout))
	setMemoryLimit(set)

	// Signals are caught before anything starts: the first gateway serves
	// clients while later agents are still starting, and a SIGTERM then
	// must shut down gracefully, not kill the process.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, caughtSignals...)
	defer signal.Stop(sigs)
	d, err := server.Start(layout, server.Options{Log: stderr, Verbose: set.Verbose})
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, config.ErrUsage) || errors.Is(err, memcache.ErrInvalidConfig) ||
			errors.Is(err, server.ErrLayout) || errors.Is(err, cacheagent.ErrOptions) {
			return exitUsage
		}
		return exitOSErr
	}
	waitForStop(d, sigs, set.Verbose, stderr)
	if d.Graceful() {
		// memcached prints this for SIGUSR1 and "shutdown graceful".
		fmt.Fprintln(stderr, "Gracefully stopping")
	}
	if err := d.Err(); err != nil {
		fmt.Fprintln(stderr, err)
		return exitOSErr
	}
	return 0
}

// waitForStop returns once d has stopped: on its own ("shutdown"), or
// after a stop signal, which it asks d for. Ignored signals (SIGHUP) are
// caught and leave d running; caught signals stay caught until the
// process exits, so none arriving during the stop can kill it.
func waitForStop(d *server.Deployment, sigs <-chan os.Signal, verbose int, stderr io.Writer) {
	for {
		select {
		case sig := <-sigs:
			if ignoredSignal(sig) {
				if verbose > 0 {
					fmt.Fprintf(stderr, "Signal handled: %v; ignored, securecached keeps running.\n", sig)
				}
				continue
			}
			if verbose > 0 {
				fmt.Fprintf(stderr, "Signal handled: %v.\n", sig)
			}
			d.Stop(gracefulSignal(sig))
			<-d.Done()
			return
		case <-d.Done():
			return
		}
	}
}

// chooseLayout is the deployment to run: the configuration file's, or the
// default one (a gateway and a cache agent) built from the command line.
// --state-dir, else -o state_dir, overrides either's state directory.
func chooseLayout(own ownFlags, args []string, set config.Settings) (server.Layout, error) {
	stateDir := cmp.Or(own.stateDir, set.Extended.StateDir)
	if own.configFile == "" {
		l := server.DefaultLayout(args, set, own.untrusted, stateDir)
		if own.backend != "" {
			if own.untrusted {
				return server.Layout{}, errors.New("--backend and --untrusted exclude each other")
			}
			l.Trust.Backend = own.backend
		}
		l.Trust.AllowSim = own.allowSim
		if own.ca.URL != "" || own.ca.Cert != "" || len(own.ca.Names) > 0 {
			l.Trust.CA = &own.ca
		}
		return l, l.Validate()
	}
	if own.untrusted || set.EnableSSL {
		return server.Layout{}, errors.New("--untrusted and -Z apply to the default layout; a configuration file sets \"trusted\" and \"tls\" per agent")
	}
	layout, err := server.LoadLayout(own.configFile)
	if err != nil {
		return server.Layout{}, err
	}
	if stateDir != "" {
		layout.Trust.StateDir = stateDir
	}
	if own.backend != "" {
		layout.Trust.Backend = own.backend
	}
	layout.Trust.AllowSim = layout.Trust.AllowSim || own.allowSim
	if own.ca.URL != "" || own.ca.Cert != "" || len(own.ca.Names) > 0 {
		layout.Trust.CA = &own.ca
	}
	return layout, layout.Validate()
}

// threads is how many OS threads run Go code at once: one per gateway
// relay, since each relay carries its batches through the cache agent
// itself, but at least one per cache agent plus one, so that a single
// relay's next batch overlaps with the cache agent serving this one. No
// more: more threads than relays served no more (bench/RESULTS.md,
// 2026-11-26). GOMAXPROCS in the environment overrides.
func threads(l server.Layout) int {
	if v, err := strconv.Atoi(os.Getenv("GOMAXPROCS")); err == nil && v > 0 {
		return v
	}
	return max(max(1, l.CacheAgents())+1, l.Gateways())
}

const ownUsage = `
securecached's own flags:
--config FILE             run the deployment described in FILE (JSON: a Diggi
                          configuration plus trust options; see README.md)
--untrusted               run the default cache agent without an enclave
--state-dir DIR           sim platform identity directory (also -o state_dir=DIR;
                          default $STATE_DIRECTORY, else
                          ~/.local/state/securecached)
--backend NAME            trust backend of trusted agents: sim (default; no
                          hardware protection), sev-snp, tdx (refused if the
                          hardware is absent), auto (the hardware present)
--allow-sim               let --backend auto fall back to sim on a machine
                          without TEE hardware
--ca-url URL, --ca-cert FILE, --ca-name NAME[,NAME]
                          serve -Z with certificates from the attestation-
                          gated CA at URL (securecached ca; its ca.pem), for
                          these DNS names and IPs, instead of RA-TLS ones

-t sets the number of gateway relays (the threads doing network I/O, as
memcached's workers do), at most one per processor; each cache agent stays one
thread. Go runs as many OS threads as relays, at least one per cache agent plus
one (GOMAXPROCS in the environment overrides).

securecached attest [policy flags] HOST:PORT | --evidence FILE
                          verify a -Z server's RA-TLS evidence, or a saved
                          evidence file, and print what was checked
securecached ca [policy flags] [--listen ADDR] [--state-dir DIR]
                          run the attestation-gated CA (-h for the flags)
`
