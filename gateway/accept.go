package gateway

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/securecached/securecached/diggi/posix"
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
// each client to the next member's relay (dispatch; the relay owns nc and
// its -c slot). Without maxconns_fast a slot is taken before accepting, as
// memcached stops accepting at -c.
func (l *leader) acceptLoop(ln net.Listener) {
	defer l.wg.Done()
	log := l.g.ctx.Log()
	for {
		var s *slot
		if !l.fastReject {
			if s = l.slots.take(); s == nil {
				return
			}
		}
		nc, err := ln.Accept()
		if err != nil {
			if s != nil {
				s.release()
			}
			if errors.Is(err, net.ErrClosed) || l.closed() {
				return
			}
			// Out of descriptors and the like: back off, do not spin.
			log.Warn("accept failed", "err", err)
			select {
			case <-time.After(10 * time.Millisecond):
			case <-l.done:
				return
			}
			continue
		}
		if l.fastReject {
			if s = l.slots.tryTake(); s == nil {
				l.g.rejected.Add(1)
				nc.SetWriteDeadline(time.Now().Add(time.Second))
				nc.Write([]byte(tooManyConns))
				nc.Close()
				continue
			}
		}
		l.dispatch(nc, s)
	}
}

func (l *leader) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// originOf is what the cache agent is told about a client, so that its
// "stats conns" names the client and the listener it reached rather than
// this gateway's Diggi address.
func originOf(nc net.Conn) posix.Origin {
	return posix.Origin{Peer: memcachedAddr(nc.RemoteAddr()), Local: memcachedAddr(nc.LocalAddr())}
}

// memcachedAddr renders an address as memcached's "stats conns" does,
// including its "?:<AF 0>" for a unix-socket client, which has no name.
func memcachedAddr(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		if a == nil {
			break
		}
		if ip4 := a.IP.To4(); ip4 != nil {
			return fmt.Sprintf("tcp:%s:%d", ip4, a.Port)
		}
		return fmt.Sprintf("tcp6:[%s]:%d", a.IP, a.Port)
	case *net.UnixAddr:
		if a != nil && a.Name != "" && a.Name != "@" {
			return "unix:" + a.Name
		}
	}
	return "?:<AF 0>"
}
