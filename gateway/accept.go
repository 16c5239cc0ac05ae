package gateway

import (
	"errors"
	"net"
	"time"
)

// relayBufSize is each direction's buffer: one Diggi data chunk, so a
// read from the cache agent takes what one message carried and a TCP read
// becomes at most one message.
const relayBufSize = 32 << 10

// tooManyConns is memcached's answer when -c is reached with maxconns_fast.
const tooManyConns = "ERROR Too many open connections\r\n"

// Direction says which way relayed bytes travel (for Hooks.Tap).
type Direction uint8

// Directions.
const (
	ToCache  Direction = iota // client -> cache agent
	ToClient                  // cache agent -> client
)

// acceptLoop accepts until the listener closes, enforcing -c, and hands
// each client to the relay (handoff owns nc and its -c slot).
func (g *Agent) acceptLoop(l net.Listener, handoff func(net.Conn)) {
	defer g.wg.Done()
	for {
		if !g.gs.fastReject {
			// Without maxconns_fast, memcached stops accepting at -c.
			select {
			case g.slots <- struct{}{}:
			case <-g.done:
				return
			}
		}
		nc, err := l.Accept()
		if err != nil {
			if !g.gs.fastReject {
				<-g.slots
			}
			if errors.Is(err, net.ErrClosed) || g.stopping() {
				return
			}
			// Out of descriptors and the like: back off, do not spin.
			g.ctx.Log().Warn("accept failed", "err", err)
			select {
			case <-time.After(10 * time.Millisecond):
			case <-g.done:
				return
			}
			continue
		}
		if g.gs.fastReject {
			select {
			case g.slots <- struct{}{}:
			default:
				g.rejected.Add(1)
				nc.SetWriteDeadline(time.Now().Add(time.Second))
				nc.Write([]byte(tooManyConns))
				nc.Close()
				continue
			}
		}
		handoff(nc)
	}
}
