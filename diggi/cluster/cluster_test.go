package cluster

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/diggi/link"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testproxy"
	"github.com/securecached/securecached/internal/testsim"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		childMain()
	}
	goleak.VerifyTestMain(m)
}

// tmember is an instance of recorders in a cluster.
type tmember struct {
	*testpeers.Instance
	node *Node
}

type memberOptions struct {
	seeds     []string
	advertise string // a proxy in front of the listener
	trust     *link.Trust
	listen    string
}

func startMember(t *testing.T, w *testsim.World, cfg diggi.Config, all []diggi.Config, o memberOptions) *tmember {
	t.Helper()
	m := &tmember{Instance: testpeers.Start(t, w, cfg, all...)}
	tr := link.Trust{}
	if o.trust != nil {
		tr = *o.trust
	} else {
		tr.Enclave, tr.Verifier = testpeers.LinkIdentity(t, w)
	}
	listen := o.listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	var err error
	m.node, err = Start(Options{
		Instance: m.In,
		Config:   Config{Listen: listen, Advertise: o.advertise, Seeds: o.seeds},
		Trust:    tr,
		Logger:   testpeers.Quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.node.Close() })
	return m
}

func waitMember(t *testing.T, m *tmember, name string, alive bool, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := m.node.WaitMember(ctx, name, alive); err != nil {
		t.Fatalf("%s: %v (members %+v)", m.In.Name(), err, m.node.Members())
	}
}

// TestClusterDirectorySpansMembers: three instances join through one
// seed; every directory lists every agent of every instance (by name and
// by kind), and an agent reaches an agent of each other instance by id.
func TestClusterDirectorySpansMembers(t *testing.T) {
	w := testsim.New(t)
	cfgs := []diggi.Config{
		testpeers.Config("a", []string{"ta"}, true),
		testpeers.Config("b", []string{"tb"}, true),
		testpeers.Config("c", []string{"tc"}, true),
	}
	a := startMember(t, w, cfgs[0], cfgs, memberOptions{})
	b := startMember(t, w, cfgs[1], cfgs, memberOptions{seeds: []string{a.node.Address()}})
	c := startMember(t, w, cfgs[2], cfgs, memberOptions{seeds: []string{a.node.Address()}})
	ms := []*tmember{a, b, c}
	for _, m := range ms {
		for _, other := range []string{"a", "b", "c"} {
			waitMember(t, m, other, true, 10*time.Second)
		}
	}
	for _, m := range ms {
		for _, name := range []string{"a/ta", "b/tb", "c/tc"} {
			m.WaitAgent(t, name)
		}
		if got := len(m.In.Directory().ByKind("recorder-tc")); got != 1 {
			t.Fatalf("%s: ByKind(recorder-tc) = %d agents", m.In.Name(), got)
		}
	}
	// b reaches c, though b joined through a and c dials nobody: a link
	// between every pair of members.
	tc := b.WaitAgent(t, "c/tc")
	b.SendSeq(t, "tb", tc, 50)
	ta := c.WaitAgent(t, "a/ta")
	c.SendSeq(t, "tc", ta, 50)
	testpeers.WaitUntil(t, "messages across the cluster", func() bool {
		return c.Agents["tc"].Count() == 50 && a.Agents["ta"].Count() == 50
	})
	testpeers.CheckOrdered(t, c.Agents["tc"].Payloads(), false)
	testpeers.CheckOrdered(t, a.Agents["ta"].Payloads(), false)
}

// TestClusterOutsiderCannotJoin: an instance whose evidence the cluster's
// policy refuses (another sim root), or that has none while untrusted
// instances are not admitted, seeds itself with a member: it never becomes
// a member anywhere and no link to it comes up. An untrusted instance is
// admitted where the policy says so.
func TestClusterOutsiderCannotJoin(t *testing.T) {
	w := testsim.New(t)
	cfgs := []diggi.Config{
		testpeers.Config("a", []string{"ta"}, false),
		testpeers.Config("x", []string{"tx"}, false),
		testpeers.Config("y", []string{"ty"}, false),
		testpeers.Config("z", []string{"tz"}, false),
	}
	a := startMember(t, w, cfgs[0], cfgs, memberOptions{})
	seed := []string{a.node.Address()}

	other := testsim.New(t) // evidence under a root the cluster does not trust
	e, v := testpeers.LinkIdentity(t, other)
	startMember(t, w, cfgs[1], cfgs, memberOptions{seeds: seed, trust: &link.Trust{Enclave: e, Verifier: v}})
	_, av := testpeers.LinkIdentity(t, w)
	startMember(t, w, cfgs[2], cfgs, memberOptions{seeds: seed, trust: &link.Trust{Verifier: av}}) // no evidence

	time.Sleep(DefaultTiming.DownBound())
	for _, m := range a.node.Members() {
		if m.Name != "a" {
			t.Fatalf("outsider %s became a member: %+v", m.Name, a.node.Members())
		}
	}
	if len(a.node.Hub().Peers()) != 0 {
		t.Fatalf("a linked to an outsider")
	}

	// With admit_untrusted, a third cluster admits the evidence-less one.
	e2, v2 := testpeers.LinkIdentity(t, w)
	open := startMember(t, w, testpeers.Config("o", []string{"to"}, false), append(cfgs, testpeers.Config("o", []string{"to"}, false)),
		memberOptions{trust: &link.Trust{Enclave: e2, Verifier: v2, AdmitUntrusted: true}})
	z := startMember(t, w, cfgs[3], cfgs, memberOptions{seeds: []string{open.node.Address()}, trust: &link.Trust{Verifier: av, AdmitUntrusted: true}})
	waitMember(t, open, "z", true, 10*time.Second)
	open.WaitAgent(t, "z/tz")
	z.WaitAgent(t, "o/to")
	if p, ok := open.node.Hub().Peer("z"); !ok || p.Attested() {
		t.Fatalf("z should be linked as an unattested instance")
	}
}

// TestClusterReportsPeerDownWithinBound: a member that vanishes without
// leaving (its links and listener die at once, as with kill -9) is
// reported down within Timing.DownBound, plus a second for scheduling on
// a loaded machine; a request to its agent is then answered with the
// runtime's bounce, and its agents leave the directory.
func TestClusterReportsPeerDownWithinBound(t *testing.T) {
	w := testsim.New(t)
	cfgs := []diggi.Config{testpeers.Config("a", []string{"ta"}, true), testpeers.Config("b", []string{"tb"}, true)}
	a := startMember(t, w, cfgs[0], cfgs, memberOptions{})
	b := startMember(t, w, cfgs[1], cfgs, memberOptions{seeds: []string{a.node.Address()}})
	waitMember(t, a, "b", true, 10*time.Second)
	tb := a.WaitAgent(t, "b/tb")
	a.SendSeq(t, "ta", tb, 10)
	testpeers.WaitUntil(t, "b's messages", func() bool { return b.Agents["tb"].Count() == 10 })

	killed := time.Now()
	b.node.kill()
	bound := DefaultTiming.DownBound() + time.Second
	waitMember(t, a, "b", false, bound)
	t.Logf("b reported down after %v (bound %v)", time.Since(killed).Round(time.Millisecond), bound)

	var cerr error
	a.Run(t, "ta", func(ctx *diggi.Context) error {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, cerr = ctx.Messages().Call(c, tb, []byte("anyone?"))
		return nil
	})
	// A trusted pair's channel to a member that is down fails at once
	// (ErrLinkDown); without one, the request is bounced or finds no agent.
	var re *diggi.RemoteError
	if !errors.As(cerr, &re) && !errors.Is(cerr, diggi.ErrUnknownAgent) && !errors.Is(cerr, diggi.ErrLinkDown) {
		t.Fatalf("request to a dead member's agent: %v, want a bounce, unknown agent or link down", cerr)
	}
	testpeers.WaitUntil(t, "b's agents to leave a's directory", func() bool {
		_, ok := a.In.Directory().Lookup("b/tb")
		return !ok
	})
}

// TestClusterPartitionHeals: every connection between two members runs
// through a proxy; cutting it makes each report the other down (requests
// bounce meanwhile), and when it heals they merge again, the link comes
// back and messages flow in order.
func TestClusterPartitionHeals(t *testing.T) {
	w := testsim.New(t)
	cfgs := []diggi.Config{testpeers.Config("a", []string{"ta"}, false), testpeers.Config("b", []string{"tb"}, false)}
	pa, pb := testproxy.New(t, ""), testproxy.New(t, "")
	a := startMember(t, w, cfgs[0], cfgs, memberOptions{advertise: pa.Addr()})
	pa.SetTarget(a.node.ln.Addr().String())
	b := startMember(t, w, cfgs[1], cfgs, memberOptions{advertise: pb.Addr(), seeds: []string{pa.Addr()}})
	pb.SetTarget(b.node.ln.Addr().String())
	waitMember(t, a, "b", true, 10*time.Second)
	waitMember(t, b, "a", true, 10*time.Second)
	tb := a.WaitAgent(t, "b/tb")
	a.SendSeq(t, "ta", tb, 100)
	testpeers.WaitUntil(t, "messages before the partition", func() bool { return b.Agents["tb"].Count() == 100 })

	pa.SetDown(true)
	pb.SetDown(true)
	bound := DefaultTiming.DownBound() + time.Second
	waitMember(t, a, "b", false, bound)
	waitMember(t, b, "a", false, bound)
	var cerr error
	a.Run(t, "ta", func(ctx *diggi.Context) error {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, cerr = ctx.Messages().Call(c, tb, []byte("across the partition"))
		return nil
	})
	var re *diggi.RemoteError
	if !errors.As(cerr, &re) && !errors.Is(cerr, diggi.ErrUnknownAgent) {
		t.Fatalf("request across the partition: %v, want a bounce or unknown agent", cerr)
	}

	pa.SetDown(false)
	pb.SetDown(false)
	waitMember(t, a, "b", true, 10*time.Second)
	waitMember(t, b, "a", true, 10*time.Second)
	tb = a.WaitAgent(t, "b/tb")
	testpeers.WaitUntil(t, "the link back up", func() bool {
		p, ok := a.node.Hub().Peer("b")
		return ok && p.Up()
	})
	a.Run(t, "ta", func(ctx *diggi.Context) error {
		for i := 100; i < 200; i++ {
			if err := ctx.Messages().Send(tb, testpeers.SeqPayload("ta", i)); err != nil {
				return err
			}
		}
		return nil
	})
	testpeers.WaitUntil(t, "messages after the partition", func() bool {
		return testpeers.CheckOrdered(t, b.Agents["tb"].Payloads(), false)["ta"] == 200
	})
}
