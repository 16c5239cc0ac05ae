package linkbench

import (
	"context"
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
	if err := netns.Available(); err != nil {
		if os.Getenv(testenv.RequireToolsEnv) == "1" {
			t.Fatalf("%v and %s=1", err, testenv.RequireToolsEnv)
		}
		t.Skip(err)
	}
}

// TestTwoMachines: the two instances in two network namespaces joined by
// a veth: traffic flows; the sink
// killed with SIGKILL is reported down within the bound and requests are
// bounced; restarted, it rejoins; a partition (the veth down: nothing
// passes, nothing is reset) is reported and, when it heals, the instances
// merge and requests succeed again.
func TestTwoMachines(t *testing.T) {
	requireNetns(t)
	pair, err := netns.NewVethPair()
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
	inB := func() *exec.Cmd { return pair.Command(pair.B, os.Args[0], "-test.run=^$") }
	inA := func() *exec.Cmd { return pair.Command(pair.A, os.Args[0], "-test.run=^$") }
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

// TestTwoMachinesDelayAndLoss: the two instances on emulated machines
// whose links add 2 ms of round trip each and drop 1% of packets each way
// (netns.Net: the kernel here has no netem); a partition (loss 1) is
// reported within the bound and heals.
func TestTwoMachinesDelayAndLoss(t *testing.T) {
	requireNetns(t)
	n, err := netns.New(netns.Host{Name: "a", Delay: 2 * time.Millisecond, Loss: 0.01}, netns.Host{Name: "b", Delay: 2 * time.Millisecond, Loss: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	dir := t.TempDir()
	a, b := n.Addr("a"), n.Addr("b")
	in := func(host string) func() *exec.Cmd {
		return func() *exec.Cmd { return n.Command(ctx, host, os.Args[0], "-test.run=^$") }
	}
	_, source := startPair(t, in("b"), in("a"),
		Spec{Role: "sink", Listen: b + ":7100", StateDir: dir, Trusted: true, EchoAddr: b + ":7101"},
		Spec{Role: "source", Listen: a + ":7100", Seeds: []string{b + ":7100"}, StateDir: dir, Trusted: true, EchoAddr: b + ":7101"})
	exercise(t, source)
	res, err := source.Do("lat 100", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if Number(res, "tcp_p50_us") < 4000 || Number(res, "link_p50_us") < 4000 {
		t.Fatalf("round trips below the links' 4 ms: %v", res)
	}
	if err := n.SetLink("b", 2*time.Millisecond, 1, 0); err != nil {
		t.Fatal(err)
	}
	bound := cluster.DefaultTiming.DownBound() + time.Second
	start := time.Now()
	for {
		res, err := source.Do("member sink", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if res["alive"] == false {
			break
		}
		if time.Since(start) > bound {
			t.Fatalf("partition not reported within %v", bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("partition reported after %v", time.Since(start))
	if err := n.SetLink("b", 2*time.Millisecond, 0.01, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := source.Do("call", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if res["ok"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests still fail after the partition healed: %v", res["err"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
