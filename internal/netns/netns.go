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
// one write by this process.
//
// Accuracy: a packet is never delivered before it is due, and after it by
// as little as the kernel allows (see waker). What remains is the time a
// packet waits for this process to read it and to be scheduled after its
// write, which grows with the machine's load: on an idle machine a TCP
// round trip gets within tens of microseconds of what was asked, on a
// busy one more. TestWireRoundTrip logs what it gets; bench/RESULTS.md
// has the measurements that chose the waker.
//
// Processes run inside a host with Command; this process can also open
// sockets there (Listen, DialContext), so one test can drive several
// "machines". Addresses are in 10.213.N.0/24, private to the namespaces
// this package creates; nothing is routed to or from the machine's own
// network, and Close deletes every namespace.
//
// It needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for setns) and iproute2's ip.
// The package never depends on SecureCached.
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
	// Close waits for the readers before it closes the pair queues they
	// send on, then for the deliverers.
	readers, deliverers sync.WaitGroup
}

type host struct {
	net  *Net
	spec Host // guarded by net.mu after New
	ns   string
	addr string
	tun  *os.File
	// out[d] carries packets from this host to host d, in order; one
	// goroutine per pair delivers them when due.
	out     map[*host]chan packet
	nextOut time.Time // when the link is free for the next packet (Rate); the reader's alone
}

type packet struct {
	data []byte
	due  time.Time
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, MTU); return &b }}

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
		prefix: fmt.Sprintf("sc%d-%d", pid%100000, n),
		subnet: int((int32(pid) + n) % 250),
		hosts:  map[string]*host{},
	}
	for i, h := range hosts {
		if err := nw.addHost(i, h); err != nil {
			nw.Close()
			return nil, err
		}
	}
	for _, src := range nw.hosts {
		src.out = map[*host]chan packet{}
		for _, dst := range nw.hosts {
			if dst == src {
				continue
			}
			ch := make(chan packet, 4096)
			src.out[dst] = ch
			nw.deliverers.Add(1)
			go nw.deliver(dst, ch)
		}
	}
	for _, h := range nw.hosts {
		nw.readers.Add(1)
		go nw.read(h)
	}
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
	h := &host{net: n, spec: spec, ns: n.prefix + "-" + spec.Name, addr: fmt.Sprintf("10.213.%d.%d", n.subnet, i+1)}
	if _, err := run("ip", "netns", "add", h.ns); err != nil {
		return err
	}
	n.hosts[spec.Name] = h
	n.byIP[i+1] = h
	n.order = append(n.order, spec.Name)
	if err := n.inNamespace(h, func() (err error) { h.tun, err = openTUN("tun0"); return err }); err != nil {
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

// openTUN creates a TUN interface without packet information in the
// calling thread's namespace, non-blocking so reads park in Go's poller.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("netns: open /dev/net/tun: %w", err)
	}
	var req [unix.IFNAMSIZ + 64]byte
	copy(req[:], name)
	*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = unix.IFF_TUN | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("netns: TUNSETIFF: %w", e)
	}
	return os.NewFile(uintptr(fd), "tun:"+name), nil
}

// read moves the packets a host sends to the pair queue of their
// destination, after loss and the link's rate.
func (n *Net) read(src *host) {
	defer n.readers.Done()
	for {
		bp := bufPool.Get().(*[]byte)
		m, err := src.tun.Read(*bp)
		if err != nil {
			bufPool.Put(bp)
			return // closed
		}
		p := (*bp)[:m]
		// IPv4 only; the destination's last octet names the host.
		if m < 20 || p[0]>>4 != 4 {
			bufPool.Put(bp)
			continue
		}
		dst := n.byIP[p[19]]
		if dst == nil || dst == src {
			bufPool.Put(bp)
			continue
		}
		n.mu.Lock()
		s, d := src.spec, dst.spec
		n.mu.Unlock()
		if loss := 1 - (1-s.Loss)*(1-d.Loss); loss > 0 && rand.Float64() < loss {
			bufPool.Put(bp)
			continue
		}
		now := time.Now()
		depart := now
		if s.Rate > 0 {
			if src.nextOut.After(now) {
				depart = src.nextOut
			}
			depart = depart.Add(time.Duration(float64(m*8) / s.Rate * float64(time.Second)))
			src.nextOut = depart
		}
		due := depart.Add(s.Delay/2 + d.Delay/2)
		select {
		case src.out[dst] <- packet{data: p, due: due}:
		default:
			bufPool.Put(bp) // the queue is full: drop, as a router would
		}
	}
}

// deliver writes one pair's packets into the destination when each is due.
// It keeps its OS thread, with a timer slack of 1 ns and its own waker
// (see waker), for as long as the pair exists.
func (n *Net) deliver(dst *host, ch chan packet) {
	defer n.deliverers.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w := newWaker()
	for p := range ch {
		w.sleepUntil(p.due)
		_, err := dst.tun.Write(p.data)
		b := p.data[:cap(p.data)]
		bufPool.Put(&b)
		if err != nil && errors.Is(err, os.ErrClosed) {
			for range ch { // drain until Close closes the channel
			}
			return
		}
	}
}

// maxLead bounds how early a waker wakes before a packet is due, and so
// the time it spins per packet.
const maxLead = 200 * time.Microsecond

// waker sleeps its thread until a packet is due, as precisely as the
// kernel lets a user-space wire be. Three things stood between a sleep
// and its due time:
//   - Go's timers: when the process has nothing else to do they wait in
//     epoll with whole milliseconds (a 0.19 ms half round trip became
//     about 1 ms), so it sleeps in nanosleep, a high-resolution timer,
//     on a thread of its own (the scheduler runs other goroutines
//     elsewhere meanwhile);
//   - the thread's timer slack, 50 µs by default, by which the kernel may
//     delay any sleep to batch wake-ups: it is set to 1 ns
//     (PR_SET_TIMERSLACK), so it is the thread's alone, locked to it;
//   - the wake-up itself, tens of microseconds on a busy machine: the
//     waker learns it (lead, a moving average of how late it woke), goes
//     to sleep that much before the due time and spins the rest, so it
//     spins only for as long as the kernel keeps wakes late.
//
// Only the goroutine that made it (locked to its thread) may use it.
type waker struct {
	lead time.Duration
}

func newWaker() *waker {
	// Best effort: without it the wire is only less precise.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	return &waker{}
}

// sleepUntil returns at t or just after it.
func (w *waker) sleepUntil(t time.Time) {
	wake := t.Add(-w.lead)
	if d := time.Until(wake); d > 0 {
		ts := unix.NsecToTimespec(d.Nanoseconds())
		for unix.Nanosleep(&ts, &ts) == unix.EINTR {
		}
		late := min(max(time.Since(wake), 0), maxLead)
		w.lead += (late - w.lead) / 8
	}
	for time.Now().Before(t) {
	}
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
	for _, h := range n.hosts {
		if h.tun != nil {
			h.tun.Close()
		}
	}
	n.readers.Wait()
	for _, h := range n.hosts {
		for _, ch := range h.out {
			close(ch)
		}
	}
	n.deliverers.Wait()
	var errs []error
	for _, name := range n.order {
		if _, err := run("ip", "netns", "delete", n.hosts[name].ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
