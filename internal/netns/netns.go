// Package netns builds two Linux network namespaces joined by a veth
// pair, the "two machines" of the multi-machine tests and of the link
// benchmark (scbench experiment fig5.2), with iproute2's ip and tc. It
// needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); Available says whether it
// can work here.
package netns

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Pair is two namespaces, A and B, with one veth between them: A has
// AddrA and B has AddrB, in 10.231.X.0/24.
type Pair struct {
	A, B         string // namespace names
	AddrA, AddrB string // IPv4 addresses, without prefix length
	vethA        string
	vethB        string
}

// Available reports why namespaces cannot be made here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("netns: needs root")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("netns: %s (iproute2) not found", tool)
		}
	}
	return nil
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// New creates the namespaces and the veth, with loopback up in both. The
// caller must Close it, also on failure paths (Close is safe to call on a
// partly built Pair).
func New() (*Pair, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	tag := hex.EncodeToString(r[:])
	subnet := fmt.Sprintf("10.231.%d", int(r[0])%250+1)
	p := &Pair{
		A: "scA" + tag, B: "scB" + tag,
		AddrA: subnet + ".1", AddrB: subnet + ".2",
		vethA: "va" + tag, vethB: "vb" + tag,
	}
	steps := [][]string{
		{"ip", "netns", "add", p.A},
		{"ip", "netns", "add", p.B},
		{"ip", "link", "add", p.vethA, "type", "veth", "peer", "name", p.vethB},
		{"ip", "link", "set", p.vethA, "netns", p.A},
		{"ip", "link", "set", p.vethB, "netns", p.B},
		{"ip", "-n", p.A, "addr", "add", p.AddrA + "/24", "dev", p.vethA},
		{"ip", "-n", p.B, "addr", "add", p.AddrB + "/24", "dev", p.vethB},
		{"ip", "-n", p.A, "link", "set", "lo", "up"},
		{"ip", "-n", p.B, "link", "set", "lo", "up"},
		{"ip", "-n", p.A, "link", "set", p.vethA, "up"},
		{"ip", "-n", p.B, "link", "set", p.vethB, "up"},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Command returns cmd to run inside namespace ns.
func Command(ns string, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Netem sets (or, with an empty spec, removes) a tc netem qdisc on both
// ends of the veth, e.g. "delay 5ms loss 1%".
func (p *Pair) Netem(spec string) error {
	for _, end := range [][2]string{{p.A, p.vethA}, {p.B, p.vethB}} {
		_ = run("ip", "netns", "exec", end[0], "tc", "qdisc", "del", "dev", end[1], "root")
		if spec == "" {
			continue
		}
		args := append([]string{"ip", "netns", "exec", end[0], "tc", "qdisc", "add", "dev", end[1], "root", "netem"}, strings.Fields(spec)...)
		if err := run(args...); err != nil {
			return err
		}
	}
	return nil
}

// Cut takes the veth down (a partition: no packet passes, no connection
// is reset) or, with cut false, up again.
func (p *Pair) Cut(cut bool) error {
	state := "up"
	if cut {
		state = "down"
	}
	if err := run("ip", "-n", p.A, "link", "set", p.vethA, state); err != nil {
		return err
	}
	return run("ip", "-n", p.B, "link", "set", p.vethB, state)
}

// Close deletes the namespaces (which deletes the veth with them).
func (p *Pair) Close() error {
	var errs []error
	for _, ns := range []string{p.A, p.B} {
		if ns == "" {
			continue
		}
		if err := run("ip", "netns", "delete", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
