// Package netns builds small emulated networks of "machines" for tests and
// experiments: each host is a Linux network namespace whose one interface
// is a TUN device, and this process is the wire between them. It moves each
// IP packet from its source host to its destination host after the delay,
// loss and bandwidth of both hosts' links, so programs in different hosts
// talk over real TCP/IP with the round-trip times of the thesis's Table 5.1.
//
// Why a wire in user space: the kernels these tests run on are built
// without netem (CONFIG_NET_SCH_NETEM is not set), so tc cannot add delay
// or loss to a veth link. A packet's only extra cost here is one read and
// one write by this process; with TUN offloads (unless a host starts with
// loss or a rate) a packet is a whole TCP segment of up to 64 KB, as the
// sender's stack hands it over, so bulk transfers cost few of them.
//
// Accuracy: a packet is never delivered before it is due, and after it by
// as little as the kernel allows (see wire.go). What remains is the time a
// packet waits for this process to read it, and for the receiver to be
// scheduled after the write, which grows with the machine's load. On 2
// cores under a load of about 20 (2026-12-07), a TCP ping-pong's median
// round trip was 50-90 µs above the 369-475 µs asked (before this wire:
// 170-210 µs above). TestWireRoundTrip measures it (go test -v -run
// WireRoundTrip); bench/RESULTS.md has the runs.
//
// Processes run inside a host with Command; this process can also open
// sockets there (Listen, DialContext), so one test can drive several
// "machines". Addresses are in 10.213.N.0/24, private to the namespaces
// this package creates; nothing is routed to or from the machine's own
// network, and Close deletes every namespace. One thread of this process
// carries every packet (wire.go).
//
// It needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for setns) and iproute2's ip.
// The package never depends on SecureCached.
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Host describes one machine of a network and its link to the others.
type Host struct {
	Name string
	// Delay is the round trip the host's link adds: half on the way out,
	// half on the way in. Two hosts' round trip is the sum of their delays.
	Delay time.Duration
	// Loss is the share of packets the link drops each way, 0 to 1; 1 cuts
	// the host off.
	Loss float64
	// Rate is the link's bandwidth in bits per second each way (0: as fast
	// as the wire goes). Packets queue behind each other, as on a real link.
	Rate float64
}

// MTU of every host's interface: Ethernet's.
const MTU = 1500

// Net is a running network of hosts.
type Net struct {
	prefix string
	subnet int

	mu     sync.Mutex // guards links' settings and closed
	hosts  map[string]*host
	byIP   [256]*host // by the last octet of the address
	order  []string
	closed bool
	w      *wire // nil until every host exists
	// offload: the TUN devices hand over and take whole TCP segments of
	// up to 64 KB (TSO), each after a virtio_net_hdr of vnetHdrLen bytes
	// that the wire passes through (see New).
	offload bool
}

type host struct {
	net  *Net
	spec Host // guarded by net.mu after New
	ns   string
	addr string
	tun  int // the TUN device's descriptor (non-blocking), -1 once closed
	// out[d] holds packets from this host to host d, in order, until
	// they are due; nextOut is when the link is free for the next packet
	// (Rate). Both are the wire thread's alone.
	out     map[*host]*pair
	nextOut time.Time
}

// Available reports whether this process can build networks: it runs as
// root and finds ip. The error says what is missing.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("netns: network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("netns: ip not found (Debian: iproute2)")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("netns: no TUN device: %w", err)
	}
	return nil
}

// seq makes namespace names unique within a process; the pid makes them
// unique across processes.
var seq atomic.Int32

// New creates one namespace per host, each with a TUN interface, and
// starts moving packets between them. Host names must be unique and 1-8
// letters or digits. On error everything created so far is removed.
func New(hosts ...Host) (*Net, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if len(hosts) == 0 || len(hosts) > 250 {
		return nil, fmt.Errorf("netns: %d hosts (want 1..250)", len(hosts))
	}
	n := seq.Add(1)
	pid := os.Getpid()
	nw := &Net{
		prefix:  fmt.Sprintf("sc%d-%d", pid%100000, n),
		subnet:  int((int32(pid) + n) % 250),
		hosts:   map[string]*host{},
		offload: true,
	}
	// With offloads the wire carries what a host's stack hands over at
	// once, up to 64 KB, as one packet: a bulk transfer costs this process
	// one read and one write per 64 KB instead of per 1.5 KB. Loss and
	// rate are per packet, so a network whose hosts start with either
	// gets Ethernet-sized packets instead.
	for _, h := range hosts {
		if h.Loss > 0 || h.Rate > 0 {
			nw.offload = false
		}
	}
	for i, h := range hosts {
		if err := nw.addHost(i, h); err != nil {
			nw.Close()
			return nil, err
		}
	}
	w, err := startWire(nw)
	if err != nil {
		nw.Close()
		return nil, err
	}
	nw.w = w
	return nw, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 8 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (n *Net) addHost(i int, spec Host) error {
	if !validName(spec.Name) {
		return fmt.Errorf("netns: host name %q: want 1-8 letters or digits", spec.Name)
	}
	if _, dup := n.hosts[spec.Name]; dup {
		return fmt.Errorf("netns: host %q twice", spec.Name)
	}
	if err := checkLink(spec.Loss, spec.Rate); err != nil {
		return err
	}
	h := &host{net: n, spec: spec, ns: n.prefix + "-" + spec.Name, addr: fmt.Sprintf("10.213.%d.%d", n.subnet, i+1), tun: -1}
	if _, err := run("ip", "netns", "add", h.ns); err != nil {
		return err
	}
	n.hosts[spec.Name] = h
	n.byIP[i+1] = h
	n.order = append(n.order, spec.Name)
	if err := n.inNamespace(h, func() (err error) { h.tun, err = openTUN("tun0", n.offload); return err }); err != nil {
		return err
	}
	for _, s := range [][]string{
		{"ip", "-n", h.ns, "addr", "add", h.addr + "/24", "dev", "tun0"},
		{"ip", "-n", h.ns, "link", "set", "tun0", "mtu", fmt.Sprint(MTU), "up"},
		{"ip", "-n", h.ns, "link", "set", "lo", "up"},
	} {
		if _, err := run(s...); err != nil {
			return err
		}
	}
	return nil
}

func checkLink(loss, rate float64) error {
	if loss < 0 || loss > 1 {
		return fmt.Errorf("netns: loss %v (want 0..1)", loss)
	}
	if rate < 0 {
		return fmt.Errorf("netns: rate %v", rate)
	}
	return nil
}

// TUN offload flags (linux/if_tun.h): checksums, TCP segmentation.
const (
	tunFCsum = 0x01
	tunFTSO4 = 0x02
	tunFTSO6 = 0x04
)

// vnetHdrLen is the size of struct virtio_net_hdr, which precedes every
// packet on a device opened with IFF_VNET_HDR.
const vnetHdrLen = 10

// openTUN creates a TUN interface without packet information in the
// calling thread's namespace, non-blocking (the wire thread polls it);
// with offload, packets carry a virtio_net_hdr and may be TCP segments of
// up to 64 KB.
func openTUN(name string, offload bool) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, fmt.Errorf("netns: open /dev/net/tun: %w", err)
	}
	var req [unix.IFNAMSIZ + 64]byte
	copy(req[:], name)
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if offload {
		flags |= unix.IFF_VNET_HDR
	}
	*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = flags
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("netns: TUNSETIFF: %w", e)
	}
	if offload {
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETOFFLOAD, tunFCsum|tunFTSO4|tunFTSO6); e != 0 {
			unix.Close(fd)
			return -1, fmt.Errorf("netns: TUNSETOFFLOAD: %w", e)
		}
	}
	return fd, nil
}

// SetLink changes a host's link at run time: delay, loss and rate. Loss 1
// cuts the host off (a partition); setting it back to 0 heals it.
func (n *Net) SetLink(name string, delay time.Duration, loss, rate float64) error {
	if err := checkLink(loss, rate); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.hosts[name]
	if !ok {
		return fmt.Errorf("netns: no host %q", name)
	}
	h.spec.Delay, h.spec.Loss, h.spec.Rate = delay, loss, rate
	return nil
}

// Stats counts what the wire has done since New.
func (n *Net) Stats() Stats {
	st := &n.w.stats
	return Stats{Packets: st.packets.Load(), Acks: st.acks.Load(), Bytes: st.bytes.Load(), Sleeps: st.sleeps.Load(), Polls: st.polls.Load(),
		Drops: st.drops.Load()}
}

// Addr is the host's IPv4 address in the network.
func (n *Net) Addr(name string) string { return n.mustHost(name).addr }

// Namespace is the name of the host's network namespace (for ip netns exec).
func (n *Net) Namespace(name string) string { return n.mustHost(name).ns }

// Hosts lists the host names in the order given to New.
func (n *Net) Hosts() []string { return append([]string(nil), n.order...) }

// Command prepares name with args to run inside host's namespace.
func (n *Net) Command(ctx context.Context, hostName, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.mustHost(hostName).ns, name}, args...)...)
}

// Output runs a command inside host's namespace and returns its standard
// output; the error includes standard error.
func (n *Net) Output(ctx context.Context, hostName, name string, args ...string) ([]byte, error) {
	cmd := n.Command(ctx, hostName, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s in %s: %w: %s", name, hostName, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Listen opens a listener inside host's namespace, from this process: a
// socket belongs to the namespace it was created in, whichever thread
// uses it later.
func (n *Net) Listen(hostName, network, address string) (net.Listener, error) {
	var l net.Listener
	err := n.inNamespace(n.mustHost(hostName), func() (err error) {
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// DialContext connects from inside host's namespace, from this process.
func (n *Net) DialContext(ctx context.Context, hostName, network, address string) (net.Conn, error) {
	var c net.Conn
	err := n.inNamespace(n.mustHost(hostName), func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// inNamespace runs fn on an OS thread of its own that has entered the
// host's network namespace. The thread is never given back to the Go
// scheduler: the goroutine ends locked, so the runtime retires the thread
// instead of running other goroutines in the wrong namespace.
func (n *Net) inNamespace(h *host, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + h.ns)
		if err != nil {
			errc <- fmt.Errorf("netns: %w", err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns: enter %s: %w", h.ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func (n *Net) mustHost(name string) *host {
	h, ok := n.hosts[name]
	if !ok {
		panic(fmt.Sprintf("netns: no host %q", name))
	}
	return h
}

func run(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("netns: %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Close stops the wire and deletes every namespace. Stop the processes
// running inside first: a namespace lives on while a process uses it.
func (n *Net) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	if n.w != nil {
		n.w.stop()
	}
	for _, h := range n.hosts {
		if h.tun >= 0 {
			unix.Close(h.tun)
			h.tun = -1
		}
	}
	var errs []error
	for _, name := range n.order {
		if _, err := run("ip", "netns", "delete", n.hosts[name].ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
