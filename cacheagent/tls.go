package cacheagent

import (
	"context"
	"crypto/tls"
	"errors"
	"time"
)

// The TLS path (-Z). TLS terminates here, inside the cache agent, so
// plaintext exists only in this agent: the gateway and the router carry
// records. The handshake (public-key work, possibly an RA-TLS certificate)
// runs on a goroutine of its own, entering the agent per socket operation;
// after it, the client is a session like a plaintext one (session.go),
// whose records are crypto/tls's record layer run under the baton over a
// non-blocking sockConn. No goroutine per client, no baton hand-over per
// request.

// handshakeTimeout bounds a client that connects and never finishes the
// handshake.
const handshakeTimeout = 10 * time.Second

// tlsRecords are a TLS session's bytes: crypto/tls's record layer over a
// non-blocking sockConn.
type tlsRecords struct {
	sc     *sockConn
	tc     *tls.Conn
	cancel context.CancelFunc // ends the handshake
}

// startTLS begins a TLS session on an accepted socket (under the baton).
// The session starts serving once its handshake goroutine hands over.
func (a *Agent) startTLS(fd int) {
	h, err := a.sys.Handle(fd)
	if err != nil {
		a.sys.Close(fd)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	sc := &sockConn{sys: a.sys, fd: fd, h: h, local: a.localAddr(), remote: diggiAddr(a.sys, fd), ctx: ctx}
	rl := &tlsRecords{sc: sc, tc: tls.Server(sc, a.tlsConfig), cancel: cancel}
	s := &session{a: a, fd: fd, rl: rl}
	a.sessions[fd] = s
	a.tlsWG.Add(1)
	go rl.handshake(s)
}

// handshake runs on its own goroutine, entering the agent per socket
// operation, then hands the session over to the baton.
func (r *tlsRecords) handshake(s *session) {
	a := s.a
	defer a.tlsWG.Done()
	err := r.tc.HandshakeContext(r.sc.ctx)
	r.cancel()
	a.ctx.Scheduler().Run(func() {
		if s.closed {
			return
		}
		if err != nil {
			if a.verbosity.Load() >= 1 {
				a.ctx.Log().Warn("tls handshake failed", "err", err)
			}
			s.close()
			return
		}
		r.sc.evented = true
		s.start(true)
	})
}

// maxPending bounds the encrypted bytes a session holds for a client whose
// window is full: the rest of a reply waits, unencrypted, in the state
// machine's own output until they have gone out.
const maxPending = 256 << 10

// tlsChunk is how much output one record batch takes; crypto/tls splits it
// into records of at most 16 KB.
const tlsChunk = 64 << 10

func (r *tlsRecords) read(p []byte) (int, error) {
	n, err := r.tc.Read(p)
	var wb wouldBlock
	if errors.As(err, &wb) {
		err = nil
	}
	return n, err
}

// write encrypts up to tlsChunk of p, and sends the records once a chunk's
// worth is pending: one Diggi message per batch of output, not per record.
func (r *tlsRecords) write(p []byte) (int, bool, error) {
	if r.sc.unsent() >= maxPending {
		return 0, true, nil
	}
	n, err := r.tc.Write(p[:min(len(p), tlsChunk)])
	if err == nil && r.sc.unsent() >= tlsChunk {
		_, err = r.sc.flush()
	}
	return n, false, err
}

func (r *tlsRecords) flush() (bool, error) { return r.sc.flush() }
func (r *tlsRecords) unsent() bool         { return r.sc.unsent() > 0 }
func (r *tlsRecords) buffered() bool       { return true }
func (r *tlsRecords) close()               { r.cancel() }
