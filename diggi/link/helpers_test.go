package link

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/securecached/securecached/diggi"
	"github.com/securecached/securecached/internal/testpeers"
	"github.com/securecached/securecached/internal/testsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// node is one instance of recorders with a hub.
type node struct {
	*testpeers.Instance
	hub *Hub
}

type nodeOptions struct {
	tap               func([]byte)
	untrustedInstance bool // no evidence in its link certificate
	admitUntrusted    bool
}

func newNode(t *testing.T, w *testsim.World, cfg diggi.Config, all []diggi.Config, o nodeOptions) *node {
	t.Helper()
	n := &node{Instance: testpeers.Start(t, w, cfg, all...)}
	tr := Trust{AdmitUntrusted: o.admitUntrusted}
	if !o.untrustedInstance {
		tr.Enclave, tr.Verifier = testpeers.LinkIdentity(t, w)
	} else {
		_, tr.Verifier = testpeers.LinkIdentity(t, w)
	}
	var err error
	n.hub, err = New(Options{Instance: n.In, Address: "test", Trust: tr, Tap: o.tap, Logger: testpeers.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.hub.Close)
	return n
}

// linker connects a (dialling) to b (accepting), through via (a proxy)
// if set, and redials after a failure as the cluster's dialer does, until
// the test ends.
type linker struct {
	a, b   *node
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func link(t *testing.T, a, b *node, via func(target string) string) *linker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &linker{a: a, b: b, ln: ln, cancel: cancel}
	l.wg.Add(2)
	go func() { // b accepts
		defer l.wg.Done()
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				tc := b.hub.Server(c)
				hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
				defer hcancel()
				if err := tc.HandshakeContext(hctx); err != nil {
					tc.Close()
					return
				}
				_ = b.hub.Run(tc)
			}()
		}
	}()
	target := ln.Addr().String()
	if via != nil {
		target = via(target)
	}
	go func() { // a dials, and redials after a failure
		defer l.wg.Done()
		for ctx.Err() == nil {
			if tc, err := a.hub.Dial(ctx, target, ProtoLink); err == nil {
				_ = a.hub.Run(tc)
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(l.stop)
	return l
}

func (l *linker) stop() {
	l.cancel()
	l.ln.Close()
	l.a.hub.Close()
	l.b.hub.Close()
	l.wg.Wait()
}

func waitPeerUp(t *testing.T, n *node, peer string) *Peer {
	t.Helper()
	var p *Peer
	testpeers.WaitUntil(t, n.In.Name()+" link to "+peer, func() bool {
		var ok bool
		p, ok = n.hub.Peer(peer)
		return ok && p.Up()
	})
	return p
}
