package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/securecached/securecached/diggi/link"
)

// transport carries memberlist over the authenticated links, so that only
// instances the cluster policy admits take part in membership: packets
// (probes, gossip) travel as frames of the link to their member, and
// streams (joins, state exchange, fallback probes) are TLS connections to
// the member's link listener under the same policy. A packet for a member
// with no live link is dropped, as a datagram to an unreachable host is;
// that is what lets membership notice a member whose link is gone.
type transport struct {
	n       *Node
	packets chan *memberlist.Packet
	streams chan net.Conn

	mu    sync.Mutex
	addrs map[string]net.Addr
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

func newTransport(n *Node) *transport {
	return &transport{
		n:       n,
		packets: make(chan *memberlist.Packet, 1024),
		streams: make(chan net.Conn, 64),
		addrs:   map[string]net.Addr{},
	}
}

// FinalAdvertiseAddr implements memberlist.Transport: the link's address.
func (t *transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	host, port, err := net.SplitHostPort(t.n.advertise)
	if err != nil {
		return nil, 0, err
	}
	ip := net.ParseIP(host)
	p, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return nil, 0, fmt.Errorf("cluster: advertise address %q is not IP:port", t.n.advertise)
	}
	return ip, p, nil
}

// WriteTo implements memberlist.Transport.
func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress sends a packet over the member's link, if it is up.
func (t *transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	now := time.Now()
	var p *link.Peer
	if a.Name != "" {
		p, _ = t.n.hub.Peer(a.Name)
	}
	if p == nil {
		for _, q := range t.n.hub.Peers() {
			if q.Address() == a.Addr {
				p = q
				break
			}
		}
	}
	if p != nil {
		p.SendGossip(b)
	}
	return now, nil
}

// deliver is the link's OnGossip: a packet from a peer.
func (t *transport) deliver(from *link.Peer, b []byte) {
	pk := &memberlist.Packet{Buf: b, From: t.addr(from.Address()), Timestamp: time.Now()}
	select {
	case t.packets <- pk:
	default: // membership is behind: drop, as a full socket buffer would
	}
}

// addr returns a net.Addr for a peer's advertised link address.
func (t *transport) addr(s string) net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a, ok := t.addrs[s]; ok {
		return a
	}
	var a net.Addr
	if ta, err := net.ResolveTCPAddr("tcp", s); err == nil {
		a = ta
	} else {
		a = &net.TCPAddr{}
	}
	t.addrs[s] = a
	return a
}

// PacketCh implements memberlist.Transport.
func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// DialTimeout implements memberlist.Transport.
func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout opens a membership stream: a TLS connection to the
// member's link listener, admitted by the same policy as a link.
func (t *transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(t.n.ctx, timeout)
	defer cancel()
	return t.n.hub.Dial(ctx, a.Addr, link.ProtoGossip)
}

// stream hands an accepted membership stream to memberlist.
func (t *transport) stream(c *tls.Conn) {
	select {
	case t.streams <- c:
	case <-t.n.ctx.Done():
		c.Close()
	}
}

// StreamCh implements memberlist.Transport.
func (t *transport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown implements memberlist.Transport; the Node owns the listener.
func (t *transport) Shutdown() error { return nil }
