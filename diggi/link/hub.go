package link

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/securecached/securecached/diggi"
)

// DefaultWindow is the credit a receiver grants per destination agent, in
// messages: how many may be on their way to one agent before its mover
// takes them. It bounds the memory a slow agent can pin on the receiving
// side (window messages per sending instance) and, with the link's RTT,
// one agent's throughput.
const DefaultWindow = 256

// handshakeTimeout bounds the TLS handshake and the hello exchange.
const handshakeTimeout = 10 * time.Second

// Options configure a Hub.
type Options struct {
	// Instance is the local instance. Required.
	Instance *diggi.Instance
	// Address is where this instance's link listens, as peers dial it.
	Address string
	Trust   Trust
	// Window is the credit granted per destination agent (DefaultWindow
	// if 0).
	Window int
	// Tap, if set, sees every frame a link writes or reads, in plaintext
	// (inside TLS), length prefix included. It must not keep the slice.
	// Tests use it to check what the untrusted link carries.
	Tap func(frame []byte)
	// OnGossip receives a membership packet from a peer (the cluster
	// package's memberlist transport). It must not keep b after returning
	// unless it copies it; it must not block.
	OnGossip func(from *Peer, b []byte)
	// OnSession, if set, is told when a session with a peer starts (up)
	// and ends.
	OnSession func(p *Peer, up bool)
	Logger    *slog.Logger
}

// Hub holds this instance's links: one Peer per other instance, each with
// at most one live session (one TLS connection) at a time.
type Hub struct {
	opts Options
	tls  *tlsConfigs
	log  *slog.Logger

	mu     sync.Mutex
	peers  map[string]*Peer
	closed bool
	done   chan struct{} // closed by Close
}

// New returns a hub. It makes this instance's link certificate now, so a
// trust problem shows at start, not at the first peer.
func New(opts Options) (*Hub, error) {
	if opts.Instance == nil {
		return nil, errors.New("link: Options.Instance is required")
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c, err := newTLSConfigs(opts.Trust)
	if err != nil {
		return nil, err
	}
	return &Hub{opts: opts, tls: c, log: opts.Logger.With("instance", opts.Instance.Name()), peers: map[string]*Peer{}, done: make(chan struct{})}, nil
}

// ServerConfig is the TLS configuration a listener for links and gossip
// streams uses: TLS 1.3, a certificate with this instance's evidence, and
// the cluster policy applied to the client's certificate.
func (h *Hub) ServerConfig() *tls.Config { return h.tls.server() }

// Dial opens a connection to a peer's link listener for proto (ProtoLink
// or ProtoGossip) and runs the TLS handshake, in which each side checks
// the other's evidence.
func (h *Hub) Dial(ctx context.Context, addr, proto string) (*tls.Conn, error) {
	d := net.Dialer{Timeout: handshakeTimeout, KeepAlive: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cfg := h.tls.client(proto)
	if host, _, err := net.SplitHostPort(addr); err == nil {
		cfg.ServerName = host // as tls.Dialer does
	}
	tc := tls.Client(newBatchConn(c), cfg)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		c.Close()
		return nil, err
	}
	if got := tc.ConnectionState().NegotiatedProtocol; got != proto {
		tc.Close()
		return nil, fmt.Errorf("%w: %s negotiated %q, want %q", ErrProtocol, addr, got, proto)
	}
	return tc, nil
}

// Run carries a link over conn, a TLS connection (dialled or accepted)
// whose handshake is complete and whose protocol is ProtoLink: the two
// sides exchange hellos, the peer's agents enter the directory, and
// messages flow until the connection fails or the peer is closed. It
// returns why the session ended; conn is closed.
func (h *Hub) Run(conn *tls.Conn) error {
	defer conn.Close()
	cs := conn.ConnectionState()
	how, err := h.opts.Trust.admit(cs) // as the handshake did: how, not whether
	if err != nil {
		return err
	}
	attested := how.attested()
	br := bufio.NewReaderSize(conn, 64<<10)
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := writeHello(conn, HelloFor(h.opts.Instance, h.opts.Address, h.opts.Window)); err != nil {
		return fmt.Errorf("link: send hello: %w", err)
	}
	hello, err := readHello(br)
	if err != nil {
		return fmt.Errorf("link: hello from %s: %w", conn.RemoteAddr(), err)
	}
	conn.SetDeadline(time.Time{})
	if hello.ID == h.opts.Instance.ID() || hello.Instance == h.opts.Instance.Name() {
		return fmt.Errorf("%w: peer %s (%d) collides with this instance", ErrProtocol, hello.Instance, hello.ID)
	}
	if err := checkName(how, cs, hello.Instance); err != nil {
		return err
	}
	if !attested {
		for _, a := range hello.Agents {
			if a.Trusted {
				return fmt.Errorf("%w: unattested instance %s claims trusted agent %s", ErrRefused, hello.Instance, a.Name)
			}
		}
	}
	p, err := h.peer(hello.Instance, hello.ID)
	if err != nil {
		return err
	}
	return p.run(conn, br, hello, attested)
}

// peer returns the Peer for an instance, creating it on first contact.
func (h *Hub) peer(name string, id diggi.InstanceID) (*Peer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errClosed
	}
	p := h.peers[name]
	if p == nil {
		p = &Peer{hub: h, name: name, id: id, agents: map[diggi.AgentID]*remote{}}
		h.peers[name] = p
	}
	if p.id != id {
		return nil, fmt.Errorf("%w: instance %s changed id from %d to %d", ErrProtocol, name, p.id, id)
	}
	return p, nil
}

// Peer returns the Peer of a named instance, if a link to it ever ran.
func (h *Hub) Peer(name string) (*Peer, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.peers[name]
	return p, ok
}

// Peers returns the known peers, by name.
func (h *Hub) Peers() []*Peer {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Peer, 0, len(h.peers))
	for _, p := range h.peers {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Forget ends the session with a peer that left the cluster (or was
// declared dead) and removes its agents from the directory: sends to them
// then fail as to unknown agents. A later link from it starts afresh.
func (h *Hub) Forget(name string) {
	h.mu.Lock()
	p := h.peers[name]
	delete(h.peers, name)
	h.mu.Unlock()
	if p != nil {
		p.shutdown(fmt.Errorf("link: peer %s left the cluster", name))
	}
}

// Close ends every session and removes every remote agent.
func (h *Hub) Close() {
	h.mu.Lock()
	if !h.closed {
		close(h.done)
	}
	h.closed = true
	peers := h.peers
	h.peers = map[string]*Peer{}
	h.mu.Unlock()
	for _, p := range peers {
		p.shutdown(errClosed)
	}
}

var errClosed = errors.New("link: closed")
