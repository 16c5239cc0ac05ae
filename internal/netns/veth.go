package netns

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// VethPair is two namespaces, A and B, joined by a veth: the kernel's own
// path between two "machines", for measurements that a wire in user space
// would limit (scbench's fig5.2 compares the link with iperf3 over it). A
// has AddrA and B has AddrB, in 10.231.X.0/24. Without netem a veth has no
// delay or loss: Net emulates those.
type VethPair struct {
	A, B         string // namespace names
	AddrA, AddrB string // IPv4 addresses, without prefix length
	vethA        string
	vethB        string
}

// NewVethPair creates the namespaces and the veth, with loopback up in
// both. The caller must Close it.
func NewVethPair() (*VethPair, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	tag := hex.EncodeToString(r[:])
	subnet := fmt.Sprintf("10.231.%d", int(r[0])%250+1)
	p := &VethPair{
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
		if _, err := run(s...); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Command prepares name with args to run inside namespace ns (p.A or
// p.B).
func (p *VethPair) Command(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Cut takes the veth down (a partition: no packet passes, no connection
// is reset) or, with cut false, up again.
func (p *VethPair) Cut(cut bool) error {
	state := "up"
	if cut {
		state = "down"
	}
	if _, err := run("ip", "-n", p.A, "link", "set", p.vethA, state); err != nil {
		return err
	}
	_, err := run("ip", "-n", p.B, "link", "set", p.vethB, state)
	return err
}

// Close deletes the namespaces (which deletes the veth with them).
func (p *VethPair) Close() error {
	var errs []error
	for _, ns := range []string{p.A, p.B} {
		if ns == "" {
			continue
		}
		if _, err := run("ip", "netns", "delete", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
