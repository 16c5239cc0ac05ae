package linkbench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// SpecEnv carries a child process's Spec: a binary that finds it set runs
// the process (ChildMain) instead of its usual main.
const SpecEnv = "DIGGI_LINKBENCH_SPEC"

// ChildMain runs this process as a linkbench instance if SpecEnv is set,
// and exits; otherwise it returns at once.
func ChildMain() {
	raw := os.Getenv(SpecEnv)
	if raw == "" {
		return
	}
	var spec Spec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "linkbench: spec:", err)
		os.Exit(2)
	}
	if err := Run(spec, os.Stdin, os.Stdout, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		fmt.Fprintln(os.Stderr, "linkbench:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Proc is a running child instance.
type Proc struct {
	cmd      *exec.Cmd
	in       io.WriteCloser
	out      *bufio.Scanner
	Addr     string // its link address
	EchoAddr string // a sink's TCP echo address
}

// Start runs cmd (this binary, possibly under "ip netns exec") as the
// instance spec describes and waits until it is ready.
func Start(cmd *exec.Cmd, spec Spec) (*Proc, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(os.Environ(), SpecEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	p.out.Buffer(make([]byte, 64<<10), 1<<20)
	line, err := p.readLine(40 * time.Second)
	if err != nil || !strings.HasPrefix(line, "READY ") {
		p.Kill()
		return nil, fmt.Errorf("linkbench %s did not start: %q %v", spec.Role, line, err)
	}
	f := strings.Fields(line)
	p.Addr = f[1]
	if len(f) > 2 {
		p.EchoAddr = f[2]
	}
	return p, nil
}

// readLine reads one line of output, failing after timeout.
func (p *Proc) readLine(timeout time.Duration) (string, error) {
	type res struct {
		s  string
		ok bool
	}
	ch := make(chan res, 1)
	go func() {
		ok := p.out.Scan()
		ch <- res{p.out.Text(), ok}
	}()
	select {
	case r := <-ch:
		if !r.ok {
			return "", fmt.Errorf("linkbench: output ended: %v", p.out.Err())
		}
		return r.s, nil
	case <-time.After(timeout):
		p.Kill() // the reader goroutine ends with the process's output
		return "", errors.New("linkbench: no answer in time")
	}
}

// Do sends a command to a source and decodes its answer.
func (p *Proc) Do(command string, timeout time.Duration) (map[string]any, error) {
	if _, err := fmt.Fprintln(p.in, command); err != nil {
		return nil, err
	}
	line, err := p.readLine(timeout)
	if err != nil {
		return nil, err
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return nil, fmt.Errorf("linkbench: answer %q: %w", line, err)
	}
	if e, ok := res["error"]; ok {
		return nil, fmt.Errorf("linkbench: %s: %v", command, e)
	}
	return res, nil
}

// Kill ends the process with SIGKILL, as a crash would, and reaps it.
func (p *Proc) Kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	_ = p.cmd.Wait()
}

// Close ends the process in order: its input closes and it exits.
func (p *Proc) Close() {
	p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// Number reads a numeric field of an answer.
func Number(res map[string]any, key string) float64 {
	f, _ := res[key].(float64)
	return f
}
