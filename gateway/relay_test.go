package gateway

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"testing"
	"time"
)

var relaySeed = flag.Uint64("relay.seed", 0, "replay TestRelayRandomized with this seed (0: a new one per run)")

func TestRelayWants(t *testing.T) {
	var r relay
	if w := r.want(); w != (want{cacheWritable: true}) {
		t.Fatalf("unconnected: %+v, want only the connect (cache writable)", w)
	}
	r.connect()
	if w := r.want(); w != (want{readClient: true, readCache: true}) {
		t.Fatalf("connected and idle: %+v", w)
	}

	// A request the Diggi socket takes only in part: stop reading the
	// client, wait for room, keep the rest (and not the driver's buffer).
	buf := []byte("get k\r\n")
	r.fromClient(buf)
	if got := r.toCache(); string(got) != "get k\r\n" {
		t.Fatalf("toCache = %q", got)
	}
	r.cacheTook(3)
	copy(buf, "XXXXXXX")
	if w := r.want(); w != (want{readCache: true, cacheWritable: true}) {
		t.Fatalf("cache window full: %+v", w)
	}
	if got := r.toCache(); string(got) != " k\r\n" {
		t.Fatalf("remainder = %q, want the bytes the cache agent did not take", got)
	}
	r.cacheTook(4)
	if w := r.want(); w != (want{readClient: true, readCache: true}) {
		t.Fatalf("cache took all: %+v", w)
	}

	// A reply the client takes in part: stop reading the cache agent,
	// want the client writable.
	reply := []byte("VALUE k 0 1\r\nv\r\nEND\r\n")
	r.fromCache(reply)
	p := r.toClient()
	if w := r.want(); w != (want{readClient: true, readCache: true}) {
		t.Fatalf("reply in flight: %+v (reads stay wanted; the driver settles first)", w)
	}
	r.clientTook(5)
	copy(reply, bytes.Repeat([]byte("X"), len(reply)))
	if w := r.want(); w != (want{readClient: true, clientWritable: true}) {
		t.Fatalf("client socket full: %+v", w)
	}
	if got := r.toClient(); string(got) != "VALUE k 0 1\r\nv\r\nEND\r\n"[5:] || len(p) != 21 {
		t.Fatalf("held-back reply = %q", got)
	}
	r.clientTook(len("VALUE k 0 1\r\nv\r\nEND\r\n") - 5)
	if r.downBuf != nil || r.upBuf != nil {
		t.Fatal("a drained relay still holds its copies")
	}

	// Half-close: reported to the cache agent after the pending bytes.
	r.fromClient([]byte("quit"))
	r.cacheTook(0)
	r.want()
	if r.shutCache() {
		t.Fatal("half-close before the cache agent took the bytes before it")
	}
	r.cacheTook(4)
	r.clientEOF()
	if w := r.want(); w.readClient || !w.readCache {
		t.Fatalf("half-closed: %+v, want cache reads and no client reads", w)
	}
	if !r.shutCache() || r.shutCache() {
		t.Fatal("half-close must be reported exactly once")
	}

	// The cache agent's end closes, once.
	if !r.cacheEOF() || r.close() || r.fail() {
		t.Fatal("close must report true exactly once")
	}
	if w := r.want(); w != (want{}) || r.toCache() != nil || r.toClient() != nil {
		t.Fatalf("closed relay still wants %+v", w)
	}
}

// Inputs the relay did not ask for are driver bugs: they panic rather than
// lose or reorder bytes.
func TestRelayRefusesUnwantedInput(t *testing.T) {
	for name, f := range map[string]func(r *relay){
		"client read while up pending": func(r *relay) { r.fromClient([]byte("a")); r.cacheTook(0); r.fromClient([]byte("b")) },
		"cache read while down held":   func(r *relay) { r.fromCache([]byte("a")); r.toClient(); r.clientTook(0); r.fromCache([]byte("b")) },
		"cache read while in flight":   func(r *relay) { r.fromCache([]byte("a")); r.toClient(); r.fromCache([]byte("b")) },
		"settle without a send":        func(r *relay) { r.clientTook(0) },
		"client read after its EOF":    func(r *relay) { r.clientEOF(); r.fromClient([]byte("a")) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			var r relay
			r.connect()
			f(&r)
		})
	}
}

// relaySim drives one relay against a simulated client and cache agent
// whose sockets take random amounts, in a random order of events, and
// checks the invariants of relay's doc comment after every step.
type relaySim struct {
	rng                  *rand.Rand
	r                    relay
	clientOut, cacheOut  []byte // what each side will send
	clientSent, cacheSnt int    // how much of it was read
	clientIn, cacheIn    []byte // what each side received
	clientEnds, cacheEnd bool   // the side ends its stream once all is read
	cacheGotEOF          bool
	closes               int
	cbuf, dbuf           []byte // the driver's buffers, reused and scribbled on
	ring                 bool   // replies settle later, as with io_uring
	failed               bool
}

const simChunk = 64

func (s *relaySim) room(n int) int {
	switch s.rng.IntN(4) {
	case 0:
		return 0
	case 1:
		return n
	default:
		return s.rng.IntN(n + 1)
	}
}

func (s *relaySim) scribble(p []byte) {
	for i := range p {
		p[i] = '#'
	}
}

func (s *relaySim) closed(first bool) {
	if first {
		s.closes++
	}
}

func (s *relaySim) writeCache() {
	p := s.r.toCache()
	n := s.room(len(p))
	s.cacheIn = append(s.cacheIn, p[:n]...)
	s.r.cacheTook(n)
	if s.r.shutCache() {
		if s.cacheGotEOF {
			panic("half-close reported twice")
		}
		s.cacheGotEOF = true
	}
}

func (s *relaySim) settle() {
	p := s.r.down
	n := s.room(len(p))
	s.clientIn = append(s.clientIn, p[:n]...)
	s.r.clientTook(n)
	s.scribble(s.dbuf)
}

// step takes one random event the relay wants; it reports false when none
// is possible.
func (s *relaySim) step() bool {
	w := s.r.want()
	var acts []func()
	if w.cacheWritable && !s.r.connected {
		acts = append(acts, s.r.connect)
	}
	if w.cacheWritable && s.r.connected {
		acts = append(acts, s.writeCache)
	}
	if w.readClient && (s.clientSent < len(s.clientOut) || s.clientEnds) {
		acts = append(acts, func() {
			if s.clientSent == len(s.clientOut) {
				s.r.clientEOF()
				if s.r.shutCache() {
					s.cacheGotEOF = true
				}
				return
			}
			n := 1 + s.rng.IntN(min(simChunk, len(s.clientOut)-s.clientSent))
			p := s.cbuf[:n]
			copy(p, s.clientOut[s.clientSent:])
			s.clientSent += n
			s.r.fromClient(p)
			s.writeCache()
			s.scribble(s.cbuf)
		})
	}
	if w.readCache && (s.cacheSnt < len(s.cacheOut) || s.cacheEnd) {
		acts = append(acts, func() {
			if s.r.inFlight {
				s.settle() // the driver flushes its writer before reading
				if !s.r.want().readCache {
					return
				}
			}
			if s.cacheSnt == len(s.cacheOut) {
				s.closed(s.r.cacheEOF())
				return
			}
			n := 1 + s.rng.IntN(min(simChunk, len(s.cacheOut)-s.cacheSnt))
			p := s.dbuf[:n]
			copy(p, s.cacheOut[s.cacheSnt:])
			s.cacheSnt += n
			s.r.fromCache(p)
			s.r.toClient()
			if !s.ring {
				s.settle()
			}
		})
	}
	if w.clientWritable {
		acts = append(acts, func() { s.r.toClient(); s.settle() })
	}
	if s.r.inFlight {
		acts = append(acts, s.settle) // a flush task
	}
	if len(acts) == 0 {
		return false
	}
	if !s.r.closed && s.rng.IntN(500) == 0 {
		s.failed = true
		s.closed(s.r.fail())
		return true
	}
	acts[s.rng.IntN(len(acts))]()
	return true
}

func (s *relaySim) check(t *testing.T) {
	t.Helper()
	if !bytes.HasPrefix(s.clientOut, s.cacheIn) {
		t.Fatalf("the cache agent got %q, not a prefix of what the client sent", s.cacheIn)
	}
	if !bytes.HasPrefix(s.cacheOut, s.clientIn) {
		t.Fatalf("the client got %q, not a prefix of what the cache agent sent", s.clientIn)
	}
	if len(s.r.up) > simChunk || len(s.r.down) > simChunk {
		t.Fatalf("relay holds %d and %d bytes, more than a chunk", len(s.r.up), len(s.r.down))
	}
	if s.cacheGotEOF && len(s.cacheIn) != len(s.clientOut) {
		t.Fatalf("half-close after %d of %d bytes", len(s.cacheIn), len(s.clientOut))
	}
	if s.closes > 1 {
		t.Fatalf("closed %d times", s.closes)
	}
	w := s.r.want()
	if len(s.r.down) > 0 && !s.r.inFlight && w.readCache {
		t.Fatal("reads the cache agent while a reply waits for the client")
	}
	if len(s.r.up) > 0 && w.readClient {
		t.Fatal("reads the client while a request waits for the cache agent")
	}
}

func TestRelayRandomized(t *testing.T) {
	seed := *relaySeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./gateway -run TestRelayRandomized -relay.seed %d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	stream := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte('a' + rng.IntN(26))
		}
		return p
	}
	for run := range 2000 {
		s := &relaySim{
			rng:        rng,
			clientOut:  stream(rng.IntN(2000)),
			cacheOut:   stream(rng.IntN(2000)),
			clientEnds: rng.IntN(2) == 0,
			cacheEnd:   rng.IntN(3) == 0,
			cbuf:       make([]byte, simChunk),
			dbuf:       make([]byte, simChunk),
			ring:       rng.IntN(2) == 0,
		}
		steps := 0
		for s.step() {
			s.check(t)
			if steps++; steps > 1_000_000 {
				t.Fatalf("run %d: no end after %d steps", run, steps)
			}
		}
		// Nothing left that the relay wants: either it closed, or every
		// byte went through (a lost wake-up would leave bytes behind with
		// nothing wanted).
		if s.r.closed {
			if s.closes != 1 {
				t.Fatalf("run %d: closed, close reported %d times", run, s.closes)
			}
			if !s.failed && (!s.cacheEnd || !bytes.Equal(s.clientIn, s.cacheOut)) {
				t.Fatalf("run %d: closed without a failure or the cache agent's end, or before its replies: %d of %d", run, len(s.clientIn), len(s.cacheOut))
			}
			continue
		}
		if !bytes.Equal(s.cacheIn, s.clientOut) || !bytes.Equal(s.clientIn, s.cacheOut) {
			t.Fatalf("run %d: stalled with bytes left: cache got %d of %d, client %d of %d (want %+v)",
				run, len(s.cacheIn), len(s.clientOut), len(s.clientIn), len(s.cacheOut), s.r.want())
		}
		if s.clientEnds != s.cacheGotEOF {
			t.Fatalf("run %d: client ended %v, cache agent saw it %v", run, s.clientEnds, s.cacheGotEOF)
		}
	}
}
