package linkbench

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/internal/netns"
	"github.com/securecached/securecached/internal/testenv"
)

// The test binary doubles as the instances' processes (ChildMain).
func TestMain(m *testing.M) {
	ChildMain()
	os.Exit(m.Run())
}

// startPair runs a sink and a source through wrap (which puts a process
// in its namespace, or not) and returns the source; both end with the
// test.
func startPair(t *testing.T, sinkCmd, sourceCmd func() *exec.Cmd, sinkSpec, sourceSpec Spec) (sink, source *Proc) {
	t.Helper()
	sink, err := Start(sinkCmd(), sinkSpec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Kill)
	if len(sourceSpec.Seeds) == 0 {
		sourceSpec.Seeds = []string{sink.Addr}
	}
	if sourceSpec.EchoAddr == "" {
		sourceSpec.EchoAddr = sink.EchoAddr
	}
	source, err = Start(sourceCmd(), sourceSpec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(source.Kill)
	return sink, source
}

func self() *exec.Cmd { return exec.Command(os.Args[0], "-test.run=^$") }

// exercise runs each command once and checks the answers make sense.
func exercise(t *testing.T, source *Proc) {
	t.Helper()
	res, err := source.Do("tput 1024 2 300", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if Number(res, "msgs") < 1 || Number(res, "mbit_s") <= 0 {
		t.Fatalf("throughput %v", res)
	}
	res, err = source.Do("rtt 3 300", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if Number(res, "round_trips") < 3 {
		t.Fatalf("round trips %v", res)
	}
	res, err = source.Do("lat 50", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if Number(res, "link_p50_us") <= 0 || Number(res, "tcp_p50_us") <= 0 || Number(res, "link_p99_us") < Number(res, "link_p50_us") {
		t.Fatalf("latency %v", res)
	}
	t.Logf("%v", res)
}

// TestProcessesOnLoopback: trusted agents in two processes on loopback.
func TestProcessesOnLoopback(t *testing.T) {
	dir := t.TempDir()
	_, source := startPair(t, self, self,
		Spec{Role: "sink", Listen: "127.0.0.1:0", StateDir: dir, Trusted: true, EchoAddr: "127.0.0.1:0"},
		Spec{Role: "source", Listen: "127.0.0.1:0", StateDir: dir, Trusted: true})
	exercise(t, source)
}

// requireNetns fails (in CI) or skips when namespaces cannot be made.
func requireNetns(t *testing.T) {
	t.Helper()
	testenv.Require(t, "ip")
	testenv.Require(t, "tc")
	if err := netns.Available(); err != nil {
		if os.Getenv(testenv.RequireToolsEnv) == "1" {
			t.Fatalf("%v and %s=1", err, testenv.RequireToolsEnv)
		}
		t.Skip(err)
	}
}

// TestTwoMachines: the two instances in two network namespaces joined by
// a veth, also with 2 ms of delay and 1% loss each way (tc netem): traffic
// flows; the sink
// killed with SIGKILL is reported down within the bound and requests are
// bounced; restarted, it rejoins; a partition (the veth down: nothing
// passes, nothing is reset) is reported and, when it heals, the instances
// merge and requests succeed again.
func TestTwoMachines(t *testing.T) {
	requireNetns(t)
	pair, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pair.Close(); err != nil {
			t.Error(err)
		}
	})
	dir := t.TempDir()
	sinkSpec := Spec{Role: "sink", Listen: pair.AddrB + ":7100", StateDir: dir, Trusted: true, EchoAddr: pair.AddrB + ":7101"}
	sourceSpec := Spec{Role: "source", Listen: pair.AddrA + ":7100", Seeds: []string{pair.AddrB + ":7100"}, StateDir: dir, Trusted: true, EchoAddr: pair.AddrB + ":7101"}
	inB := func() *exec.Cmd { return netns.Command(pair.B, os.Args[0], "-test.run=^$") }
	inA := func() *exec.Cmd { return netns.Command(pair.A, os.Args[0], "-test.run=^$") }
	sink, source := startPair(t, inB, inA, sinkSpec, sourceSpec)
	exercise(t, source)
	testenv.Require(t, "iperf3")
	stopIperf, err := Iperf3Server(pair, 5201)
	if err != nil {
		t.Fatal(err)
	}
	mbit, err := Iperf3(pair, 5201, 1024, time.Second)
	stopIperf()
	if err != nil || mbit <= 0 {
		t.Fatalf("iperf3 over the veth: %v Mbit/s, %v", mbit, err)
	}
	t.Run("netem", func(t *testing.T) {
		// Delay and loss on the veth need the kernel's netem qdisc.
		if err := pair.Netem("delay 2ms loss 1%"); err != nil {
			if os.Getenv(testenv.RequireToolsEnv) == "1" {
				t.Fatalf("tc netem: %v (the kernel needs sch_netem) and %s=1", err, testenv.RequireToolsEnv)
			}
			t.Skipf("tc netem unavailable: %v", err)
		}
		defer pair.Netem("")
		exercise(t, source)
	})

	bound := cluster.DefaultTiming.DownBound() + time.Second
	waitDown := func(what string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			res, err := source.Do("member sink", 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res["alive"] == false {
				return time.Since(start)
			}
			if time.Since(start) > bound {
				t.Fatalf("%s: sink still alive after %v", what, bound)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCall := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			res, err := source.Do("call", 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res["ok"] == true {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: requests still fail: %v", what, res["err"])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	failedCall := func(what string) {
		t.Helper()
		res, err := source.Do("call", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprint(res["err"])
		// Bounced by the runtime, or refused because the dead member's
		// agents have left the directory.
		if res["ok"] == true || !(strings.Contains(msg, "deliver") || strings.Contains(msg, "unknown destination") || strings.Contains(msg, "not in the directory")) {
			t.Fatalf("%s: request answered %v, want the runtime's bounce", what, res)
		}
	}

	sink.Kill()
	t.Logf("killed sink reported down after %v (bound %v)", waitDown("kill -9"), bound)
	failedCall("sink killed")
	sink, err = Start(inB(), sinkSpec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Kill)
	waitCall("sink restarted")

	if err := pair.Cut(true); err != nil {
		t.Fatal(err)
	}
	t.Logf("partition reported after %v (bound %v)", waitDown("partition"), bound)
	failedCall("partition")
	if err := pair.Cut(false); err != nil {
		t.Fatal(err)
	}
	waitCall("partition healed")
	exercise(t, source)
}
