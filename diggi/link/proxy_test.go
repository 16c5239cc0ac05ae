package link

import (
	"crypto/rand"
	"net"
	"sync"
	"testing"
)

// attack is what the adversarial proxy does, once per connection, to the
// dialler-to-acceptor byte stream after attackAfter bytes.
type attack int

const (
	attackNone attack = iota
	attackFlip
	attackDrop
	attackReplay
	attackReorder
	attackInject
)

func (a attack) String() string {
	return [...]string{"none", "flip", "drop", "replay", "reorder", "inject"}[a]
}

// attackAfter lets the TLS handshake and the hellos through untouched, so
// the attack hits a session that carries messages.
const attackAfter = 16 << 10

// proxy is a TCP relay between two instances that the test controls: it
// can refuse connections (a partition), cut the live ones, and tamper with
// the bytes it relays.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu     sync.Mutex
	down   bool
	mode   attack
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
	closed bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.cut()
	}
}

func (p *proxy) setMode(a attack) {
	p.mu.Lock()
	p.mode = a
	p.mu.Unlock()
}

// cut closes every relayed connection (both halves see a reset or EOF).
func (p *proxy) cut() {
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.down {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *proxy) accept() {
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
		u, err := net.Dial("tcp", p.target)
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
			relay(u, c, mode)
			u.Close()
			c.Close()
		}()
		go func() {
			defer p.wg.Done()
			relay(c, u, attackNone)
			u.Close()
			c.Close()
		}()
	}
}

// relay copies src to dst, applying the attack once after attackAfter
// bytes.
func relay(dst, src net.Conn, mode attack) {
	buf := make([]byte, 32<<10)
	var prev, held []byte
	total, done := 0, false
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			total += n
			out := [][]byte{chunk}
			switch {
			case held != nil:
				out = [][]byte{chunk, held} // reorder: the later chunk first
				held = nil
			case !done && mode != attackNone && total > attackAfter:
				done = true
				switch mode {
				case attackFlip:
					chunk[len(chunk)/2] ^= 0x40
				case attackDrop:
					out = nil
				case attackReplay:
					if prev != nil {
						out = [][]byte{chunk, prev}
					}
				case attackReorder:
					held = append([]byte(nil), chunk...)
					out = nil
				case attackInject:
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
