package link

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
)

// batchConn sits under a link's TLS connection and gathers the records
// of one writer round into one write to the socket. crypto/tls writes
// every record (at most 16 KB of plaintext) to its connection on its own,
// so a 64 KB flush of the session's buffer would cost four system calls
// and four trips through the kernel's TCP send path; batched, it costs
// one. Outside a round (the handshake, the hellos, alerts) writes pass
// straight through.
type batchConn struct {
	net.Conn

	mu   sync.Mutex // serializes writes: the session's writer and crypto/tls (alerts, key updates)
	held bool       // a round is open: gather
	buf  []byte
	// gathered counts the records that went out in a round's write.
	gathered atomic.Uint64
}

// batchLimit is what a round gathers before it writes: about one flush
// of the session's buffer, which crypto/tls cuts into four records.
const batchLimit = 64 << 10

func newBatchConn(c net.Conn) *batchConn { return &batchConn{Conn: c} }

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.held {
		return b.Conn.Write(p)
	}
	b.buf = append(b.buf, p...)
	b.gathered.Add(1)
	if len(b.buf) >= batchLimit {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// hold opens a round: writes gather until release.
func (b *batchConn) hold() {
	b.mu.Lock()
	b.held = true
	b.mu.Unlock()
}

// release ends a round and writes what it gathered.
func (b *batchConn) release() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held = false
	return b.flushLocked()
}

func (b *batchConn) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// batcherOf returns the batchConn under a link's TLS connection, or nil
// for a connection the hub did not make (tests hand Run their own).
func batcherOf(c *tls.Conn) *batchConn {
	b, _ := c.NetConn().(*batchConn)
	return b
}

// Server wraps c, accepted by a link listener, in the server side of a
// link's TLS (ServerConfig), with the batching a session's writer uses.
func (h *Hub) Server(c net.Conn) *tls.Conn { return tls.Server(newBatchConn(c), h.tls.server()) }
