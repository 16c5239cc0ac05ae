package link

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// countConn counts the writes that reach the socket.
type countConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestBatchConnOneWritePerRound: a held round's records reach the socket
// in one write, and arrive intact; outside a round every record is a
// write of its own, as crypto/tls makes them.
func TestBatchConnOneWritePerRound(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := plainCertificate(key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		sc := tls.Server(c, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}})
		b, _ := io.ReadAll(sc)
		got <- b
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc := &countConn{Conn: raw}
	bc := newBatchConn(cc)
	tc := tls.Client(bc, &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if batcherOf(tc) != bc {
		t.Fatal("batcherOf does not find the batchConn")
	}
	payload := make([]byte, 64<<10) // four full records
	for i := range payload {
		payload[i] = byte(i * 7)
	}

	before := cc.writes.Load()
	if _, err := tc.Write(payload); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load() - before; n < 4 {
		t.Errorf("outside a round, 64 KB took %d socket writes, want one per record (4)", n)
	}

	before = cc.writes.Load()
	bc.hold()
	if _, err := tc.Write(payload); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Write(payload[:100]); err != nil {
		t.Fatal(err)
	}
	if err := bc.release(); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load() - before; n != 2 {
		t.Errorf("a held round of 64 KB + 100 B took %d socket writes, want 2 (64 KB reached the limit)", n)
	}
	before = cc.writes.Load()
	bc.hold()
	if _, err := tc.Write(payload[:100]); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load() - before; n != 0 {
		t.Errorf("a held round wrote %d times before its release", n)
	}
	if err := bc.release(); err != nil {
		t.Fatal(err)
	}
	if n := cc.writes.Load() - before; n != 1 {
		t.Errorf("a held round of 100 B took %d socket writes, want 1", n)
	}
	tc.Close()

	want := append(append(append([]byte(nil), payload...), payload...), payload[:100]...)
	want = append(want, payload[:100]...)
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("the reader got %d bytes, want the %d written, in order", len(b), len(want))
	}
}
