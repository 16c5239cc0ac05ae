package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/link"
)

// Timing is membership's failure detection: every ProbeInterval a member
// probes another; no answer within ProbeTimeout (and no answer to the
// fallback probe over a fresh stream) makes it suspect, and a suspect not
// refuting within SuspicionMult probe intervals is declared dead. A member
// that misses probes of its own (a starved machine) stretches its probe
// interval, at most Awareness times.
type Timing struct {
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	SuspicionMult  int
	Awareness      int
	GossipInterval time.Duration
}

// DefaultTiming suits a LAN or one host: DownBound is 3.75 s.
var DefaultTiming = Timing{
	ProbeInterval:  500 * time.Millisecond,
	ProbeTimeout:   250 * time.Millisecond,
	SuspicionMult:  3,
	Awareness:      2,
	GossipInterval: 100 * time.Millisecond,
}

// DownBound is how long after a peer stops answering membership reports it
// down, in the small clusters (fewer than ten members) this runtime forms:
// the peer is probed at most a (stretched) interval after it went quiet;
// the probe, its timeout and the fallback probe over a fresh stream end
// within another; and the suspicion lasts SuspicionMult intervals
// (memberlist scales it by log10 of the member count, at least 1).
func (t Timing) DownBound() time.Duration {
	return time.Duration(2*t.Awareness+t.SuspicionMult)*t.ProbeInterval + t.ProbeTimeout
}

// Options configure a Node.
type Options struct {
	Instance *diggi.Instance // required
	Config   Config
	Trust    link.Trust
	// Timing of failure detection; DefaultTiming if zero.
	Timing Timing
	// Tap sees every frame of every link (see link.Options.Tap).
	Tap    func([]byte)
	Logger *slog.Logger
}

// Node is one instance's membership in a cluster and its links to the
// other members.
type Node struct {
	opts      Options
	log       *slog.Logger
	hub       *link.Hub
	ln        net.Listener
	advertise string
	tr        *transport
	ml        *memberlist.Memberlist

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once

	mu      sync.Mutex
	members map[string]*member
	// stopping is set (under mu) before stop waits for wg: memberlist
	// declares members dead from suspicion timers that its Shutdown
	// does not stop, and no NotifyLeave may Add to wg after that.
	stopping bool
	events   []Event
	waiters  []chan struct{}
}

type member struct {
	addr   string
	alive  bool
	since  time.Time
	cancel context.CancelFunc // the dialer, if this side dials
}

// Member is a cluster member as membership sees it.
type Member struct {
	Name    string
	Address string
	Alive   bool
	Since   time.Time // when it was last seen to join or to fail
}

// Event is a membership change.
type Event struct {
	Name  string
	Alive bool
	At    time.Time
}

// Start listens for links, joins the cluster through the seeds (retrying
// in the background while they are not members) and returns.
func Start(opts Options) (*Node, error) {
	if opts.Instance == nil {
		return nil, errors.New("cluster: Options.Instance is required")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Timing == (Timing{}) {
		opts.Timing = DefaultTiming
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.Default()
	}
	n := &Node{opts: opts, log: lg.With("instance", opts.Instance.Name()), members: map[string]*member{}}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", opts.Config.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen: %w", err)
	}
	n.ln = ln
	n.advertise = opts.Config.Advertise
	if n.advertise == "" {
		n.advertise = ln.Addr().String()
	}
	n.tr = newTransport(n)
	n.hub, err = link.New(link.Options{
		Instance: opts.Instance, Address: n.advertise, Trust: opts.Trust, Window: opts.Config.Window,
		Tap: opts.Tap, OnGossip: n.tr.deliver, Logger: lg,
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	n.wg.Add(1)
	go n.accept()

	mc := memberlist.DefaultLANConfig()
	mc.Name = opts.Instance.Name()
	host, port, _ := net.SplitHostPort(n.advertise)
	mc.AdvertiseAddr = host
	mc.AdvertisePort, _ = strconv.Atoi(port)
	mc.Transport = n.tr
	mc.Events = n
	mc.ProbeInterval = opts.Timing.ProbeInterval
	mc.ProbeTimeout = opts.Timing.ProbeTimeout
	mc.SuspicionMult = opts.Timing.SuspicionMult
	mc.GossipInterval = opts.Timing.GossipInterval
	mc.AwarenessMaxMultiplier = max(1, opts.Timing.Awareness)
	mc.TCPTimeout = 2 * time.Second
	mc.IndirectChecks = 2
	mc.PushPullInterval = 5 * time.Second
	mc.GossipToTheDeadTime = 5 * time.Second
	mc.EnableCompression = false
	// A member restarted on another address may take its name back once
	// it has been dead this long.
	mc.DeadNodeReclaimTime = opts.Timing.DownBound()
	mc.Logger = log.New(io.Discard, "", 0)
	n.ml, err = memberlist.Create(mc)
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("cluster: membership: %w", err)
	}
	n.wg.Add(1)
	go n.rejoin()
	return n, nil
}

// Hub returns the node's links.
func (n *Node) Hub() *link.Hub { return n.hub }

// Address is the link address peers dial.
func (n *Node) Address() string { return n.advertise }

// Members returns the members membership knows, this instance included,
// by name.
func (n *Node) Members() []Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []Member{}
	for name, m := range n.members {
		out = append(out, Member{Name: name, Address: m.addr, Alive: m.alive, Since: m.since})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Events returns the membership changes seen so far, oldest first.
func (n *Node) Events() []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Event(nil), n.events...)
}

// Close leaves the cluster, ends every link and stops listening.
func (n *Node) Close() error { return n.stop(true) }

// stop ends the node once; leave says whether to tell the members first
// (a node that does not is found dead by their failure detection).
func (n *Node) stop(leave bool) error {
	var err error
	n.stopOnce.Do(func() {
		if n.ml != nil {
			if leave {
				_ = n.ml.Leave(time.Second)
			}
			err = n.ml.Shutdown()
			// Shutdown does not wait for a probe in flight, which ends
			// within a probe interval: wait it out, so that nothing of
			// the node runs after Close.
			time.Sleep(n.opts.Timing.ProbeInterval)
		}
		n.cancel()
		n.ln.Close()
		n.hub.Close()
		n.mu.Lock()
		n.stopping = true
		n.mu.Unlock()
		n.wg.Wait()
	})
	return err
}

// accept serves the listener: each connection is a link or a membership
// stream, told apart by the TLS protocol after the policy admitted it.
func (n *Node) accept() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			tc := n.hub.Server(c)
			ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
			err := tc.HandshakeContext(ctx)
			cancel()
			if err != nil {
				n.log.Debug("connection refused", "from", c.RemoteAddr().String(), "err", err)
				tc.Close()
				return
			}
			switch tc.ConnectionState().NegotiatedProtocol {
			case link.ProtoLink:
				err := n.hub.Run(tc)
				n.log.Debug("accepted link ended", "from", c.RemoteAddr().String(), "err", err)
			case link.ProtoGossip:
				n.tr.stream(tc)
			default:
				tc.Close()
			}
		}()
	}
}

// NotifyJoin implements memberlist.EventDelegate: a member is alive. Of
// each pair, the instance with the smaller name dials the link.
func (n *Node) NotifyJoin(nd *memberlist.Node) {
	if nd.Name == n.opts.Instance.Name() {
		n.record(nd.Name, nd.Address(), true)
		return
	}
	n.mu.Lock()
	m := n.recordLocked(nd.Name, nd.Address(), true)
	if n.opts.Instance.Name() < nd.Name && m.cancel == nil && n.ctx.Err() == nil {
		ctx, cancel := context.WithCancel(n.ctx)
		m.cancel = cancel
		n.wg.Add(1)
		go n.dial(ctx, nd.Name, nd.Address())
	}
	n.mu.Unlock()
}

// NotifyLeave implements memberlist.EventDelegate: a member left or was
// declared dead. Its link ends and its agents leave the directory.
func (n *Node) NotifyLeave(nd *memberlist.Node) {
	n.mu.Lock()
	m := n.recordLocked(nd.Name, nd.Address(), false)
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	// Forget waits for the session to end: not on memberlist's goroutine.
	// Once stop waits for n.wg no Add may race that Wait; the hub is
	// closed by then, has ended every session itself.
	if n.stopping {
		n.mu.Unlock()
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		n.hub.Forget(nd.Name)
	}()
}

// NotifyUpdate implements memberlist.EventDelegate.
func (n *Node) NotifyUpdate(nd *memberlist.Node) { n.record(nd.Name, nd.Address(), true) }

func (n *Node) record(name, addr string, alive bool) {
	n.mu.Lock()
	n.recordLocked(name, addr, alive)
	n.mu.Unlock()
}

func (n *Node) recordLocked(name, addr string, alive bool) *member {
	m := n.members[name]
	if m == nil {
		m = &member{}
		n.members[name] = m
	}
	if m.alive != alive || m.since.IsZero() {
		m.since = time.Now()
		n.events = append(n.events, Event{Name: name, Alive: alive, At: m.since})
		for _, w := range n.waiters {
			close(w)
		}
		n.waiters = nil
	}
	m.addr, m.alive = addr, alive
	return m
}

// changed returns a channel closed at the next membership change.
func (n *Node) changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := make(chan struct{})
	n.waiters = append(n.waiters, ch)
	return ch
}

// WaitMember waits until membership sees the named member alive (or, with
// alive false, down), or ctx ends.
func (n *Node) WaitMember(ctx context.Context, name string, alive bool) error {
	for {
		ch := n.changed()
		n.mu.Lock()
		m := n.members[name]
		ok := (m != nil && m.alive) == alive
		n.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for %s alive=%v: %w", name, alive, ctx.Err())
		}
	}
}

// Backoff of the dialer between attempts.
const (
	dialBackoffMin = 50 * time.Millisecond
	dialBackoffMax = 2 * time.Second
)

// dial keeps a link to a member up while it is alive, reconnecting with
// exponential backoff (and jitter, so that a cluster does not redial in
// step).
func (n *Node) dial(ctx context.Context, name, addr string) {
	defer n.wg.Done()
	backoff := dialBackoffMin
	for ctx.Err() == nil {
		start := time.Now()
		conn, err := n.hub.Dial(ctx, addr, link.ProtoLink)
		if err == nil {
			err = n.hub.Run(conn)
		}
		if time.Since(start) > 2*dialBackoffMax {
			backoff = dialBackoffMin
		}
		n.log.Debug("link to member ended", "peer", name, "addr", addr, "err", err, "retry_in", backoff)
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		backoff = min(2*backoff, dialBackoffMax)
	}
}

// rejoinEvery is how often a node tries the seeds and the members it saw
// die, so that a partition that heals (membership on both sides has
// declared the other dead and stopped probing it) merges again.
const rejoinEvery = time.Second

func (n *Node) rejoin() {
	defer n.wg.Done()
	t := time.NewTicker(rejoinEvery)
	defer t.Stop()
	for {
		var try []string
		n.mu.Lock()
		alive := map[string]bool{}
		for _, m := range n.members {
			if m.alive {
				alive[m.addr] = true
			}
		}
		for _, m := range n.members {
			if !m.alive && !alive[m.addr] {
				try = append(try, m.addr)
			}
		}
		n.mu.Unlock()
		for _, s := range n.opts.Config.Seeds {
			if !alive[s] && s != n.advertise {
				try = append(try, s)
			}
		}
		if len(try) > 0 {
			_, _ = n.ml.Join(try)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}
