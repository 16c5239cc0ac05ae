// Command scbench drives memcached servers with YCSB workloads and
// reproduces the thesis's experiments (chapter 5), over TCP or in process
// (--target inproc: YCSB client agents and a SecureCached agent in one
// Diggi instance, over Diggi sockets; see package experiments):
//
//	scbench ycsb load|run -P workloads/workloadb [-p name=value]... --target tcp://HOST:PORT[,...]
//	scbench ycsb run -P workloads/thesis-b-1k --target inproc --threads 4 [--trusted=false] [--pipeline K | --window K] [--preload]
//	scbench compare --memcached /usr/bin/memcached --securecached PATH [-P file] [--threads N]
//	scbench sweep --clients 1,2,4,6 [--target tcp://...| --memcached PATH --securecached PATH] --png out.png
//	scbench sweep --target inproc --clients 1,2,3,4,5,6 [--trusted both|true|false] --png fig5.1.png
//	scbench experiment NAME|all --out DIR [--short]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/securecached/securecached/diggi/linkbench"
)

const usage = `usage:
  scbench ycsb load|run -P WORKLOAD [-p name=value]... --target tcp://HOST:PORT[,...] [flags]
  scbench ycsb load|run -P WORKLOAD --target inproc [--threads AGENTS] [--trusted=false] [--pipeline K | --window K] [flags]
  scbench compare --memcached PATH --securecached PATH [-P WORKLOAD] [flags]
  scbench sweep --clients 1,2,4,6 (--target URLS|inproc | --memcached PATH [--securecached PATH]) --png OUT.png [flags]
  scbench experiment NAME|all --out DIR [--short]   (the thesis's chapter 5; see EXPERIMENTS.md)
Run "scbench COMMAND -h" for a command's flags.
`

func main() {
	linkbench.ChildMain() // fig5.2 runs its two instances as this binary
	cacheChildMain()      // fig5.3, fig5.5 run their cache instance as this binary
	clientHostMain()      // and fig5.5 its client machines
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scbench:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("bad usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "ycsb":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return runYCSB(ctx, args[1], args[2:], stdout, stderr)
	case "compare":
		return runCompare(ctx, args[1:], stdout, stderr)
	case "sweep":
		return runSweep(ctx, args[1:], stdout, stderr)
	case "experiment":
		return runExperiment(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}
