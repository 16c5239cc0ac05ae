package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/link"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testsim"
)

// childEnv carries a child process's instructions: the test binary,
// started again with it set, runs one member instead of the tests.
const childEnv = "DIGGI_CLUSTER_TEST_CHILD"

type childSpec struct {
	StateDir string         `json:"state_dir"` // the shared sim world
	Config   diggi.Config   `json:"config"`
	All      []diggi.Config `json:"all"`
	Seeds    []string       `json:"seeds"`
	Listen   string         `json:"listen"`
}

// childMain runs a member until it is killed: it prints its link address
// on stdout, then waits.
func childMain() {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child spec:", err)
		os.Exit(2)
	}
	fail := func(err error) { fmt.Fprintln(os.Stderr, "child:", err); os.Exit(1) }
	w, err := testsim.Load(spec.StateDir)
	if err != nil {
		fail(err)
	}
	n, err := testpeers.New(w, spec.Config, spec.All...)
	if err != nil {
		fail(err)
	}
	e, v, err := testpeers.NewLinkIdentity(w)
	if err != nil {
		fail(err)
	}
	node, err := Start(Options{Instance: n.In, Config: Config{Listen: spec.Listen, Seeds: spec.Seeds}, Trust: link.Trust{Enclave: e, Verifier: v}, Logger: testpeers.Quiet})
	if err != nil {
		fail(err)
	}
	fmt.Printf("ADDR %s\n", node.Address())
	select {}
}

// startChild runs a member in a child process and returns it once it
// listens. The child is killed at the end of the test.
func startChild(t *testing.T, spec childSpec) (*exec.Cmd, string) {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if strings.HasPrefix(s.Text(), "ADDR ") {
				line <- s.Text()
			}
		}
	}()
	select {
	case l := <-line:
		return cmd, strings.TrimPrefix(l, "ADDR ")
	case <-time.After(20 * time.Second):
		t.Fatal("child member did not start")
	}
	return nil, ""
}

// TestClusterAcrossProcesses: a member in a child process joins; trusted
// agents in the two processes exchange messages and requests over the
// link, sealed end to end. The child is killed with SIGKILL mid-traffic:
// membership reports it down within the bound, requests to its agent are
// bounced, and nothing arrives twice or out of order. A new child with
// the same name rejoins, the link comes back, and requests succeed again.
func TestClusterAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	w, err := testsim.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfgs := []diggi.Config{testpeers.Config("a", []string{"ta"}, true), testpeers.Config("b", []string{"tb"}, true)}
	a := startMember(t, w, cfgs[0], cfgs, memberOptions{})
	spec := childSpec{StateDir: dir, Config: cfgs[1], All: cfgs, Seeds: []string{a.node.Address()}, Listen: "127.0.0.1:0"}
	child, addr := startChild(t, spec)
	waitMember(t, a, "b", true, 10*time.Second)
	tb := a.WaitAgent(t, "b/tb")

	call := func(timeout time.Duration) error {
		var cerr error
		a.Run(t, "ta", func(ctx *diggi.Context) error {
			c, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			var resp []byte
			resp, cerr = ctx.Messages().Call(c, tb, []byte("echo across processes"))
			if cerr == nil && string(resp) != "echo across processes" {
				cerr = fmt.Errorf("echo %q", resp)
			}
			return nil
		})
		return cerr
	}
	for i := range 20 {
		if err := call(10 * time.Second); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	// Traffic while the child dies: requests go on until one fails.
	stop := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := call(5 * time.Second); err != nil {
				errs <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	killed := time.Now()
	if err := child.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = child.Wait()
	var cerr error
	select {
	case cerr = <-errs:
	case <-time.After(10 * time.Second):
		t.Fatal("a request to the killed member neither failed nor succeeded")
	}
	close(stop)
	// The runtime's bounce, or, once the agent has forgotten its channel
	// (the link-lost notice), ErrLinkDown for the new handshake.
	var re *diggi.RemoteError
	if !errors.As(cerr, &re) && !errors.Is(cerr, diggi.ErrUnknownAgent) && !errors.Is(cerr, diggi.ErrLinkDown) {
		t.Fatalf("request to the killed member: %v, want the runtime's bounce", cerr)
	}
	bound := DefaultTiming.DownBound() + time.Second
	waitMember(t, a, "b", false, bound)
	t.Logf("killed member reported down after %v (bound %v)", time.Since(killed).Round(time.Millisecond), bound)

	spec.Listen = addr // restarted where it ran, as a configured instance is
	startChild(t, spec)
	waitMember(t, a, "b", true, 10*time.Second)
	tb = a.WaitAgent(t, "b/tb")
	// The new process has no channel state, and ta forgot its channel when
	// the link broke: the first request waits for a new handshake and is
	// answered.
	if err := call(10 * time.Second); err != nil {
		t.Fatalf("first request to the restarted member: %v", err)
	}
}
