// Package testproxy is a TCP relay for tests that sits between two
// instances and can partition them (refuse and cut connections) or tamper
// with the bytes it relays: flip, drop, replay, reorder or inject.
package testproxy

import (
	"crypto/rand"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Attack is what the proxy does, once per connection, to the
// dialler-to-acceptor byte stream after AttackAfter bytes.
type Attack int

const (
	None Attack = iota
	Flip
	Drop
	Replay
	Reorder
	Inject
)

func (a Attack) String() string {
	return [...]string{"none", "flip", "drop", "replay", "reorder", "inject"}[a]
}

// AttackAfter lets the TLS handshake and the hellos through untouched, so
// the Attack hits a session that carries messages.
const AttackAfter = 16 << 10

// Proxy is a TCP relay between two instances that the test controls: it
// can refuse connections (a partition), cut the live ones, and tamper with
// the bytes it relays.
type Proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu     sync.Mutex
	down   bool
	mode   Attack
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
	closed bool
	// silent drops every byte in both directions and keeps connections
	// open: a partition that neither end hears about (SetSilent).
	silent atomic.Bool
}

// New starts a proxy on 127.0.0.1 relaying to target (which may be set
// later with SetTarget); it is closed at the test's end.
func New(t *testing.T, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// SetTarget sets where new connections are relayed.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// Addr is the proxy's listening address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetDown partitions (true: refuse new connections, cut live ones) or
// heals.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.Cut()
	}
}

// SetSilent partitions without a sound (true): connections stay open,
// new ones are accepted, and every byte is dropped, as when a cable is
// pulled or a firewall drops packets. Ends only learn it from timeouts.
func (p *Proxy) SetSilent(silent bool) { p.silent.Store(silent) }

// SetMode sets the attack applied to the next connections.
func (p *Proxy) SetMode(a Attack) {
	p.mu.Lock()
	p.mode = a
	p.mu.Unlock()
}

// Cut closes every relayed connection (both halves see a reset or EOF).
func (p *Proxy) Cut() {
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.down {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		u, err := net.Dial("tcp", target)
		if err != nil || !p.track(u) {
			c.Close()
			if u != nil {
				u.Close()
			}
			continue
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			relay(u, c, mode, &p.silent)
			u.Close()
			c.Close()
		}()
		go func() {
			defer p.wg.Done()
			relay(c, u, None, &p.silent)
			u.Close()
			c.Close()
		}()
	}
}

// relay copies src to dst, applying the Attack once after AttackAfter
// bytes, and dropping everything while silent is set.
func relay(dst, src net.Conn, mode Attack, silent *atomic.Bool) {
	buf := make([]byte, 32<<10)
	var prev, held []byte
	total, done := 0, false
	for {
		n, err := src.Read(buf)
		if n > 0 && !silent.Load() {
			chunk := buf[:n]
			total += n
			out := [][]byte{chunk}
			switch {
			case held != nil:
				out = [][]byte{chunk, held} // reorder: the later chunk first
				held = nil
			case !done && mode != None && total > AttackAfter:
				done = true
				switch mode {
				case Flip:
					chunk[len(chunk)/2] ^= 0x40
				case Drop:
					out = nil
				case Replay:
					if prev != nil {
						out = [][]byte{chunk, prev}
					}
				case Reorder:
					held = append([]byte(nil), chunk...)
					out = nil
				case Inject:
					junk := make([]byte, 37)
					rand.Read(junk)
					out = [][]byte{junk, chunk}
				}
			}
			prev = append(prev[:0], chunk...)
			for _, b := range out {
				if _, werr := dst.Write(b); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}
