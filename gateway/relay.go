package gateway

// relay is one client's relay as a state machine that owns no socket, in
// the way etcd's raft is a node without its storage or transport: a driver
// (the epoll loop, or the goroutine relay) does the I/O and reports each
// outcome as an input, and asks the relay what to do next.
//
// Inputs: bytes read from the client (fromClient) or from the cache
// agent's Diggi socket (fromCache), the end of either stream (clientEOF,
// cacheEOF), how much of what the relay gave out a side took (cacheTook,
// clientTook), and a fatal error on either side (fail).
// Outputs: the bytes to write to each side (toCache, toClient), whether to
// half-close the cache side (shutCache), which events the driver should
// wait for (want), and whether the client is finished (close's result).
//
// Invariants, each enforced here (the randomized test in relay_test.go
// checks them after every input, in random orders of all inputs with a
// seed it prints, and that a relay left with nothing to want has moved
// every byte: a want never armed would leave bytes behind):
//
//   - Bytes are never reordered or lost: what the cache agent receives is a
//     prefix of what the client sent, in order, and the same the other way;
//     until the relay closes, every byte read from one side is offered to
//     the other until that side has taken it. A chunk handed in is
//     borrowed: the relay copies only what a side did not take at once,
//     before the driver can reuse its buffer (the *Took inputs).
//   - A client that does not read costs at most its window: the relay holds
//     at most one chunk (what one read returned) each way, and wants no
//     more bytes from a side while the other has not taken the last chunk.
//     So the cache agent's Diggi window, not the gateway, holds what a
//     client has not read, and the client's TCP window what the cache
//     agent has not taken.
//   - Half-close keeps order: the client's end of stream reaches the cache
//     agent (shutCache, once) only after every byte the client sent before
//     it, and replies keep flowing until the cache agent ends; the cache
//     agent's end of stream closes the client, once every reply byte before
//     it has been taken (memcached closes at quit or on an error).
//   - A client is closed exactly once: close reports true to one caller
//     only, and the driver releases the client's -c slot (slot) there, so
//     a slot is released once, and on every path that ends a client.
//
// Once closed, a relay ignores every input: a write under way when the
// other side ended, or bytes a blocked read returned meanwhile.
//
// A reply given to a writer that sends later (an io_uring batch) is in
// flight until clientTook reports it: meanwhile the relay keeps wanting
// cache reads, and the driver settles the writer before it reads the cache
// agent again (fromCache panics otherwise, as on any input the relay did
// not want: those are the driver's bugs, never a client's doing).
type relay struct {
	up, down  []byte // bytes one side has not taken yet: borrowed, or in upBuf/downBuf
	upBuf     []byte // owned copy of a remainder of up
	downBuf   []byte // owned copy of a remainder of down
	inFlight  bool   // down was given out by toClient and not settled yet
	connected bool   // the Diggi socket is connected
	sawEOF    bool   // the client half-closed
	shutDone  bool   // shutCache has reported the half-close
	closed    bool
}

// want is what a relay asks its driver to wait for.
type want struct {
	readClient     bool // read the client (EPOLLIN)
	readCache      bool // read the Diggi socket (its read event)
	clientWritable bool // the client's socket has room (EPOLLOUT)
	cacheWritable  bool // the Diggi socket has room or finished connecting (its write event)
}

// connect reports that the Diggi socket is connected.
func (r *relay) connect() { r.connected = true }

// want reports what the relay needs next.
func (r *relay) want() want {
	if r.closed {
		return want{}
	}
	return want{
		readClient:     r.connected && len(r.up) == 0 && !r.sawEOF,
		readCache:      r.connected && (len(r.down) == 0 || r.inFlight),
		clientWritable: len(r.down) > 0 && !r.inFlight,
		cacheWritable:  !r.connected || len(r.up) > 0,
	}
}

// fromClient takes a chunk read from the client; p stays the driver's and
// is borrowed until the next cacheTook.
func (r *relay) fromClient(p []byte) {
	if r.closed {
		return
	}
	if !r.want().readClient {
		panic("gateway: relay read the client while it wanted no bytes")
	}
	r.up = p
}

// clientEOF reports the client's half-close.
func (r *relay) clientEOF() {
	if r.closed {
		return
	}
	if !r.want().readClient {
		panic("gateway: relay read the client while it wanted no bytes")
	}
	r.sawEOF = true
}

// toCache is what to write to the Diggi socket now: the driver writes it
// and reports the count with cacheTook.
func (r *relay) toCache() []byte {
	if r.closed || !r.connected {
		return nil
	}
	return r.up
}

// cacheTook reports that the Diggi socket took n bytes of toCache (fewer
// when its window or queue is full: the rest waits for cacheWritable).
func (r *relay) cacheTook(n int) {
	if r.closed {
		return
	}
	r.up = r.keep(r.up[n:], &r.upBuf)
}

// shutCache reports, once, that the driver must half-close the Diggi
// socket: the client has half-closed and the cache agent took every byte
// before it.
func (r *relay) shutCache() bool {
	if r.closed || !r.connected || !r.sawEOF || len(r.up) > 0 || r.shutDone {
		return false
	}
	r.shutDone = true
	return true
}

// fromCache takes a chunk read from the Diggi socket; p stays the
// driver's and is borrowed until the next clientTook.
func (r *relay) fromCache(p []byte) {
	if r.closed {
		return
	}
	if !r.want().readCache || len(r.down) > 0 {
		panic("gateway: relay read the cache agent while a reply was unsettled")
	}
	r.down = p
}

// cacheEOF reports the end of the cache agent's stream: the client closes.
func (r *relay) cacheEOF() bool {
	if len(r.down) > 0 {
		panic("gateway: relay read the cache agent while a reply was unsettled")
	}
	return r.close()
}

// toClient is what to write to the client now; it is in flight until
// clientTook.
func (r *relay) toClient() []byte {
	if r.closed || len(r.down) == 0 || r.inFlight {
		return nil
	}
	r.inFlight = true
	return r.down
}

// clientTook reports that the client's socket took n bytes of toClient
// (fewer when it is full: the rest waits for clientWritable).
func (r *relay) clientTook(n int) {
	if r.closed {
		return
	}
	if !r.inFlight {
		panic("gateway: relay settled a reply it had not given out")
	}
	r.inFlight = false
	r.down = r.keep(r.down[n:], &r.downBuf)
}

// keep makes rest, a remainder of a chunk, the relay's own: the driver may
// reuse the buffer it read the chunk into. An empty remainder gives the
// copy back, so an idle client holds no buffer.
func (r *relay) keep(rest []byte, buf *[]byte) []byte {
	if len(rest) == 0 {
		*buf = nil
		return nil
	}
	if len(*buf) > 0 && &rest[0] == &(*buf)[0] {
		return rest // already ours
	}
	*buf = append((*buf)[:0], rest...)
	return *buf
}

// idle reports that no reply byte waits for the client (idle_timeout
// closes only such a client).
func (r *relay) idle() bool { return len(r.down) == 0 }

// fail reports a fatal error on either side; it closes the client, and
// reports true the first time, as close does.
func (r *relay) fail() bool { return r.close() }

// close ends the relay; it reports true to its first caller only, who
// closes the sockets and releases the -c slot.
func (r *relay) close() bool {
	if r.closed {
		return false
	}
	r.closed = true
	r.up, r.down, r.upBuf, r.downBuf, r.inFlight = nil, nil, nil, nil, false
	return true
}
