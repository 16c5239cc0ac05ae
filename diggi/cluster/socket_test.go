package cluster

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testproxy"
	"github.com/securecached/securecached/internal/testsim"
)

// TestClusterSilentPartitionResetsSockets: a Diggi socket between agents
// of two members, both ends blocked in a read, and then a partition that
// neither end hears about (the proxies drop every byte and keep the
// connections open, so no session ends by itself). Membership reports
// each member down within Timing.DownBound; that ends the link, and both
// reads return ECONNRESET within the same bound (plus a second for
// scheduling on a loaded machine).
func TestClusterSilentPartitionResetsSockets(t *testing.T) {
	w := testsim.New(t)
	cfgs := []diggi.Config{testpeers.Config("a", []string{"ta"}, true), testpeers.Config("b", []string{"tb"}, true)}
	pa, pb := testproxy.New(t, ""), testproxy.New(t, "")
	a := startMember(t, w, cfgs[0], cfgs, memberOptions{advertise: pa.Addr()})
	pa.SetTarget(a.node.ln.Addr().String())
	b := startMember(t, w, cfgs[1], cfgs, memberOptions{advertise: pb.Addr(), seeds: []string{pa.Addr()}})
	pb.SetTarget(b.node.ln.Addr().String())
	waitMember(t, a, "b", true, 10*time.Second)
	waitMember(t, b, "a", true, 10*time.Second)
	a.WaitAgent(t, "b/tb")

	ac, bc := testpeers.ConnectedPair(t, a.Instance, "ta", b.Instance, "tb", 7400)

	reads := make(chan error, 2)
	for _, c := range []net.Conn{ac, bc} {
		go func() { _, err := c.Read(make([]byte, 1)); reads <- err }()
	}
	pa.SetSilent(true)
	pb.SetSilent(true)
	silenced := time.Now()
	bound := DefaultTiming.DownBound() + time.Second
	for range 2 {
		select {
		case err := <-reads:
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("read across the partition: %v, want ECONNRESET", err)
			}
		case <-time.After(bound - time.Since(silenced)):
			ac.SetReadDeadline(time.Now())
			bc.SetReadDeadline(time.Now())
			<-reads
			t.Fatalf("a blocked read was not woken within %v of the partition (members %+v)", bound, a.node.Members())
		}
	}
	t.Logf("both reads reset %v after the partition (bound %v)", time.Since(silenced).Round(time.Millisecond), bound)
}
