// Package linkbench measures and exercises links between two Diggi
// instances in separate processes (thesis Fig. 5.2): a "sink" instance
// with one agent that counts what it receives and echoes requests, and a
// "source" instance with sender and client agents that a driver commands
// over the process's stdin and stdout. scbench's fig5.2 experiment and the
// multi-machine tests run the two processes in two network namespaces.
//
// This package must never import memcached code.
package linkbench

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/cluster"
	"github.com/securecached/securecached/diggi/link"
	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/diggichannel"
)

// Limits of the source instance.
const (
	MaxSenders = 3
	MaxClients = 6
)

// Spec says what one process runs.
type Spec struct {
	Role     string   `json:"role"` // "sink" or "source"
	Listen   string   `json:"listen"`
	Seeds    []string `json:"seeds,omitempty"`
	StateDir string   `json:"state_dir"` // the sim platform both processes share
	Trusted  bool     `json:"trusted"`
	// EchoAddr is where the sink answers TCP ping-pongs (the veth's own
	// round trip, for the link's added latency); the source dials it.
	EchoAddr string `json:"echo_addr"`
}

var signer = trust.SignerFromKey([]byte("linkbench"))

// configs are the two instances, the same in both processes.
func configs(trusted bool) (sink, source diggi.Config) {
	sink = diggi.Config{Instance: "sink", Agents: []diggi.AgentConfig{{Name: "sink", Kind: "linkbench", Trusted: trusted}}}
	source = diggi.Config{Instance: "source"}
	for i := 1; i <= MaxSenders; i++ {
		source.Agents = append(source.Agents, diggi.AgentConfig{Name: "s" + strconv.Itoa(i), Kind: "linkbench", Trusted: trusted})
	}
	for i := 1; i <= MaxClients; i++ {
		source.Agents = append(source.Agents, diggi.AgentConfig{Name: "c" + strconv.Itoa(i), Kind: "linkbench", Trusted: trusted})
	}
	return sink, source
}

// agent counts the messages it receives; it answers a request "count"
// with that count (8 bytes) and "reset" by zeroing it, and echoes any
// other request.
type agent struct {
	ctx *diggi.Context
	n   uint64
}

func (a *agent) Init(ctx *diggi.Context) error { a.ctx = ctx; return nil }
func (a *agent) Stop(*diggi.Context)           {}
func (a *agent) Receive(*diggi.Message)        { a.n++ }
func (a *agent) Start(ctx *diggi.Context) error {
	ctx.Messages().Subscribe(diggi.TypeRequest, func(m *diggi.Message) {
		switch string(m.Payload()) {
		case "count":
			_ = ctx.Messages().Reply(m, binary.BigEndian.AppendUint64(nil, a.n))
		case "reset":
			a.n = 0
			_ = ctx.Messages().Reply(m, nil)
		default:
			_ = ctx.Messages().Reply(m, m.Payload())
		}
	})
	return nil
}

// process is one running instance and its cluster node.
type process struct {
	in   *diggi.Instance
	node *cluster.Node
}

func start(spec Spec, logger *slog.Logger) (*process, error) {
	root, err := trust.LoadOrCreateSimRoot(spec.StateDir)
	if err != nil {
		return nil, err
	}
	plat, err := trust.LoadOrCreatePlatform(spec.StateDir, root)
	if err != nil {
		return nil, err
	}
	backend, err := trust.NewSimBackend(plat)
	if err != nil {
		return nil, err
	}
	sinkCfg, sourceCfg := configs(spec.Trusted)
	cfg, other := sinkCfg, sourceCfg
	if spec.Role == "source" {
		cfg, other = sourceCfg, sinkCfg
	}
	agents, err := diggichannel.AgentsFromConfig(cfg, signer)
	if err != nil {
		return nil, err
	}
	if err := agents.Add(other); err != nil {
		return nil, err
	}
	roots := []*x509.Certificate{root.Certificate()}
	f, err := diggichannel.New(diggichannel.Options{
		Backend: backend, Agents: agents, AllowSimulated: true, SimRoots: roots,
		AllowPlaintext: !spec.Trusted, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	reg := diggi.NewRegistry()
	if err := reg.Register("linkbench", func() diggi.Agent { return &agent{} }); err != nil {
		return nil, err
	}
	in, err := diggi.NewInstance(cfg, diggi.InstanceOptions{Registry: reg, Channels: f.ChannelFactory(), Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := in.Start(); err != nil {
		return nil, err
	}
	enc, err := backend.Launch(trust.LaunchSpec{Identity: trust.CodeIdentity{Kind: "diggi-link"}, Signer: signer})
	if err != nil {
		in.Stop()
		return nil, err
	}
	v, err := trust.NewVerifier(trust.Policy{Signers: []trust.Signer{signer}, AllowSimulated: true, SimRoots: roots})
	if err != nil {
		in.Stop()
		return nil, err
	}
	node, err := cluster.Start(cluster.Options{
		Instance: in, Config: cluster.Config{Listen: spec.Listen, Seeds: spec.Seeds},
		Trust: link.Trust{Enclave: enc, Verifier: v}, Logger: logger,
	})
	if err != nil {
		in.Stop()
		return nil, err
	}
	return &process{in: in, node: node}, nil
}

func (p *process) close() {
	p.node.Close()
	p.in.Stop()
}

// Run is a process's main: it starts the instance Spec describes, says
// "READY <link address>" on out once the other instance's agents are in
// its directory (the sink says it at once, with its echo address after
// the link address), then serves commands from cmds
// (the source) or waits for cmds to close (the sink).
func Run(spec Spec, cmds io.Reader, out io.Writer, logger *slog.Logger) error {
	p, err := start(spec, logger)
	if err != nil {
		return err
	}
	defer p.close()
	if spec.Role == "sink" {
		ln, err := net.Listen("tcp", spec.EchoAddr)
		if err != nil {
			return err
		}
		defer ln.Close()
		go echo(ln)
		fmt.Fprintf(out, "READY %s %s\n", p.node.Address(), ln.Addr())
		_, err = io.Copy(io.Discard, cmds)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.node.WaitMember(ctx, "sink", true); err != nil {
		return err
	}
	if err := waitAgent(ctx, p.in, "sink/sink"); err != nil {
		return err
	}
	fmt.Fprintf(out, "READY %s\n", p.node.Address())
	s := &source{p: p, spec: spec}
	sc := bufio.NewScanner(cmds)
	for sc.Scan() {
		res, err := s.command(strings.Fields(sc.Text()))
		if err != nil {
			res = map[string]any{"error": err.Error()}
		}
		b, _ := json.Marshal(res)
		fmt.Fprintf(out, "%s\n", b)
	}
	return sc.Err()
}

func waitAgent(ctx context.Context, in *diggi.Instance, name string) error {
	for {
		if _, ok := in.Directory().Lookup(name); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", name, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// echo answers TCP ping-pongs of any size.
func echo(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

type source struct {
	p    *process
	spec Spec
}

func (s *source) sink() (diggi.AgentID, error) {
	i, ok := s.p.in.Directory().Lookup("sink/sink")
	if !ok {
		return diggi.NoAgent, errors.New("sink agent not in the directory")
	}
	return i.ID, nil
}

func (s *source) command(args []string) (map[string]any, error) {
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	num := func(i int) (int, error) {
		if i >= len(args) {
			return 0, fmt.Errorf("%s: missing argument %d", args[0], i)
		}
		return strconv.Atoi(args[i])
	}
	switch args[0] {
	case "tput": // tput PAYLOAD SENDERS MILLISECONDS
		payload, err1 := num(1)
		senders, err2 := num(2)
		ms, err3 := num(3)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		if payload < 1 || payload > diggi.MaxPayload || senders < 1 || senders > MaxSenders {
			return nil, fmt.Errorf("tput: payload %d senders %d out of range", payload, senders)
		}
		return s.throughput(payload, senders, time.Duration(ms)*time.Millisecond)
	case "rtt": // rtt CLIENTS MILLISECONDS
		clients, err1 := num(1)
		ms, err2 := num(2)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if clients < 1 || clients > MaxClients {
			return nil, fmt.Errorf("rtt: %d clients out of range", clients)
		}
		return s.roundTrips(clients, time.Duration(ms)*time.Millisecond)
	case "lat": // lat COUNT
		n, err := num(1)
		if err != nil {
			return nil, err
		}
		return s.latency(n)
	case "call": // one request to the sink, for failure tests
		return s.call()
	case "member": // member NAME: membership's view
		for _, m := range s.p.node.Members() {
			if len(args) > 1 && m.Name == args[1] {
				return map[string]any{"alive": m.Alive, "since": m.Since.UnixNano()}, nil
			}
		}
		return map[string]any{"alive": false, "since": 0}, nil
	}
	return nil, fmt.Errorf("unknown command %q", args[0])
}

func (s *source) ctx(name string) *diggi.Context {
	c, _ := s.p.in.Context(name)
	return c
}

// request makes one Call from a local agent under its baton.
func (s *source) request(from string, dst diggi.AgentID, payload []byte, timeout time.Duration) ([]byte, error) {
	c := s.ctx(from)
	var resp []byte
	var err error
	if rerr := c.Scheduler().Run(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		resp, err = c.Messages().Call(ctx, dst, payload)
	}); rerr != nil {
		return nil, rerr
	}
	return resp, err
}

// throughput: senders agents send payload-byte messages to the sink for
// d, each then asks the sink for its count; per-sender order means the
// answer comes after all its messages. The rate is the sink's count over
// the time until the last answer.
func (s *source) throughput(payload, senders int, d time.Duration) (map[string]any, error) {
	dst, err := s.sink()
	if err != nil {
		return nil, err
	}
	if err := s.warm("s", senders, dst); err != nil {
		return nil, err
	}
	if _, err := s.request("s1", dst, []byte("reset"), 10*time.Second); err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	buf := make([]byte, payload)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	var maxCount atomic.Uint64
	errs := make(chan error, senders)
	for i := 1; i <= senders; i++ {
		name := "s" + strconv.Itoa(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := s.ctx(name)
			var serr error
			if err := c.Scheduler().Run(func() {
				for time.Now().Before(deadline) {
					for range 64 {
						if serr = c.Messages().Send(dst, buf); serr != nil {
							return
						}
					}
				}
			}); err != nil {
				serr = err
			}
			if serr != nil {
				errs <- serr
				return
			}
			resp, err := s.request(name, dst, []byte("count"), 30*time.Second)
			if err != nil || len(resp) != 8 {
				errs <- fmt.Errorf("count: %v", err)
				return
			}
			n := binary.BigEndian.Uint64(resp)
			for {
				old := maxCount.Load()
				if n <= old || maxCount.CompareAndSwap(old, n) {
					break
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	msgs := float64(maxCount.Load())
	return map[string]any{"msgs": msgs, "secs": secs, "msgs_s": msgs / secs, "mbit_s": msgs * float64(payload) * 8 / secs / 1e6}, nil
}

// warm makes one request from each of the first n agents named prefix1,
// prefix2, ..., retrying: after the sink restarted, an agent's first
// sealed message makes the pair handshake again and is dropped
// (trust/diggichannel), and a measurement must not wait on that.
func (s *source) warm(prefix string, n int, dst diggi.AgentID) error {
	for i := 1; i <= n; i++ {
		var err error
		for range 5 {
			if _, err = s.request(prefix+strconv.Itoa(i), dst, []byte("warm"), 2*time.Second); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("%s%d: %w", prefix, i, err)
		}
	}
	return nil
}

// roundTrips: clients agents make back-to-back 16-byte requests for d.
func (s *source) roundTrips(clients int, d time.Duration) (map[string]any, error) {
	dst, err := s.sink()
	if err != nil {
		return nil, err
	}
	if err := s.warm("c", clients, dst); err != nil {
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(d)
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 1; i <= clients; i++ {
		name := "c" + strconv.Itoa(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := s.ctx(name)
			var cerr error
			if err := c.Scheduler().Run(func() {
				p := make([]byte, 16)
				for time.Now().Before(deadline) {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, cerr = c.Messages().Call(ctx, dst, p)
					cancel()
					if cerr != nil {
						return
					}
					total.Add(1)
				}
			}); err != nil {
				cerr = err
			}
			if cerr != nil {
				errs <- cerr
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	secs := time.Since(start).Seconds()
	return map[string]any{"round_trips": total.Load(), "secs": secs, "round_trips_s": float64(total.Load()) / secs}, nil
}

// latency: n sequential 16-byte requests over the link, and n 16-byte TCP
// ping-pongs over the same veth, with their medians and 99th percentiles.
func (s *source) latency(n int) (map[string]any, error) {
	if n < 10 || n > 1_000_000 {
		return nil, fmt.Errorf("lat: count %d out of range", n)
	}
	dst, err := s.sink()
	if err != nil {
		return nil, err
	}
	if err := s.warm("c", 1, dst); err != nil {
		return nil, err
	}
	link := make([]time.Duration, 0, n)
	c := s.ctx("c1")
	var cerr error
	if err := c.Scheduler().Run(func() {
		p := make([]byte, 16)
		for range n {
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, cerr = c.Messages().Call(ctx, dst, p)
			cancel()
			if cerr != nil {
				return
			}
			link = append(link, time.Since(t0))
		}
	}); err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	conn, err := net.Dial("tcp", s.spec.EchoAddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tcp := make([]time.Duration, 0, n)
	buf := make([]byte, 16)
	for range n {
		t0 := time.Now()
		if _, err := conn.Write(buf); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			return nil, err
		}
		tcp = append(tcp, time.Since(t0))
	}
	q := func(d []time.Duration, f float64) float64 {
		slices.Sort(d)
		return float64(d[int(f*float64(len(d)-1))].Microseconds())
	}
	return map[string]any{
		"link_p50_us": q(link, 0.5), "link_p99_us": q(link, 0.99),
		"tcp_p50_us": q(tcp, 0.5), "tcp_p99_us": q(tcp, 0.99),
	}, nil
}

// call makes one request to the sink, for the failure tests.
func (s *source) call() (map[string]any, error) {
	dst, err := s.sink()
	if err != nil {
		return map[string]any{"ok": false, "err": err.Error()}, nil
	}
	_, err = s.request("c1", dst, []byte("ping"), 5*time.Second)
	if err != nil {
		return map[string]any{"ok": false, "err": err.Error()}, nil
	}
	return map[string]any{"ok": true}, nil
}
