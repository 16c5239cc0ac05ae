package posix

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/securecached/securecached/diggi"
)

// Batching. Every message between two agents costs a fixed amount however
// small its payload: a channel seal and open (AEAD setup and tag), a pooled
// buffer, a queue hand-over and a dispatch. A relay or a server that
// handles many connections at once (the gateway with a batch of ready
// clients, the cache agent answering the requests one message brought)
// pays it once per burst instead of once per connection by corking: while
// corked, small data writes to one peer agent are collected into a single
// TypeNetIO message of opBatch records and sent at Uncork. Flow control is
// unchanged (each write still takes its socket's window when it is made),
// and anything else sent for a socket (window grants, FIN, reset, connect)
// first sends what is held, so a socket's segments keep their order. A
// blocking wait also sends it first, so a task never waits for an answer
// to data it is still holding.
//
// A batch is a TypeNetIO message with Session 0 (sessions start at 1)
// whose payload is a segment header (op opBatch, value = record count)
// followed by the records: session(8) flags(1) length(4), then, if flags
// has withGrant, a window grant(4), then the data.
const (
	batchRecHeader = 13
	recGrantLen    = 4
)

// maxBatched is the largest write a batch takes; larger ones gain nothing
// from sharing a message and go on their own.
const maxBatched = maxChunk / 2

// maxBatch bounds a batch payload, so it fits the pooled message buffers
// with a channel's overhead like any segment.
const maxBatch = segHeader + maxChunk

// Cork starts holding small data writes until the matching Uncork (corks
// nest). Call it under the baton around a burst of writes to many sockets.
func (s *Sys) Cork() { s.cork++ }

// Uncork ends a Cork; the outermost one sends what was held. It never
// waits: if the outbound queue is full the batch waits in order for room
// (see room.go), so Uncork never hands the agent's baton away.
func (s *Sys) Uncork() {
	if s.cork > 0 {
		s.cork--
	}
	if s.cork == 0 {
		s.flushBatch()
	}
}

// batchData adds n bytes of bufs, from skip on, to the held batch as a
// record for sk with the segment flags flags, carrying a window grant for
// sk's peer if grant is not 0. The caller has checked that the outbound
// queue has room (tryWrite), so a batch is only ever started when it
// could be sent.
func (s *Sys) batchData(sk *socket, bufs [][]byte, skip, n int, flags uint8, grant int) {
	peer := sk.key.peer
	if grant > 0 {
		flags |= withGrant
	}
	if s.batchN > 0 && (s.batchTo != peer || len(s.batch)+batchRecHeader+recGrantLen+n > maxBatch) {
		s.flushBatch()
	}
	if s.batchN == 0 {
		s.batchTo = peer
		s.batch = appendSegment(s.batch[:0], segment{op: opBatch})
	}
	s.batch = binary.BigEndian.AppendUint64(s.batch, sk.key.session)
	s.batch = append(s.batch, flags)
	s.batch = binary.BigEndian.AppendUint32(s.batch, uint32(n))
	if grant > 0 {
		s.batch = binary.BigEndian.AppendUint32(s.batch, uint32(grant))
	}
	s.batch = gather(s.batch, bufs, skip, n)
	s.batchN++
}

// flushBatch sends the held batch, or queues it behind the segments
// waiting for room; it never waits.
func (s *Sys) flushBatch() {
	if s.batchN == 0 {
		return
	}
	binary.BigEndian.PutUint32(s.batch[4:8], uint32(s.batchN))
	to := s.batchTo
	s.batchN = 0
	if err := s.out(to, 0, s.batch, nil); err != nil && !errors.Is(err, diggi.ErrStopped) {
		s.ctx.Log().Warn("sending held socket data failed", "err", err)
	}
	s.batch = s.batch[:0]
}

// onBatch applies a batch's records in order, after checking that the
// whole payload is well formed.
func (s *Sys) onBatch(src diggi.AgentID, sg segment) {
	if err := checkBatch(sg); err != nil {
		s.ctx.Log().Warn("bad socket batch", "from", src, "err", err)
		return
	}
	for p := sg.data; len(p) > 0; {
		var r batchRecord
		r, p = nextRecord(p)
		s.onSegment(src, r.session, segment{op: opData, flags: r.flags, value: r.grant, data: r.data}, nil)
	}
}

// batchRecord is one record of a batch.
type batchRecord struct {
	session uint64
	flags   uint8
	grant   uint32 // window grant riding on the record (withGrant), or 0
	data    []byte // capped: appending to it cannot reach the next record
}

// recHeader is the length of a record's header with flags flags.
func recHeader(flags uint8) int {
	if flags&withGrant != 0 {
		return batchRecHeader + recGrantLen
	}
	return batchRecHeader
}

// nextRecord splits the first record off a checked batch payload.
func nextRecord(p []byte) (batchRecord, []byte) {
	r := batchRecord{session: binary.BigEndian.Uint64(p), flags: p[8]}
	hdr := recHeader(r.flags)
	if hdr > batchRecHeader {
		r.grant = binary.BigEndian.Uint32(p[batchRecHeader:])
	}
	end := hdr + int(binary.BigEndian.Uint32(p[9:]))
	r.data = p[hdr:end:end]
	return r, p[end:]
}

// checkBatch reports whether a batch's records exactly fill its payload.
func checkBatch(sg segment) error {
	if sg.value == 0 {
		return errors.New("batch of no records")
	}
	p := sg.data
	for i := uint32(0); i < sg.value; i++ {
		if len(p) < batchRecHeader || len(p) < recHeader(p[8]) {
			return fmt.Errorf("record %d of %d: truncated header", i, sg.value)
		}
		hdr := recHeader(p[8])
		n := binary.BigEndian.Uint32(p[9:])
		if uint64(n) > uint64(len(p)-hdr) {
			return fmt.Errorf("record %d of %d: %d data bytes, %d left", i, sg.value, n, len(p)-hdr)
		}
		p = p[hdr+int(n):]
	}
	if len(p) != 0 {
		return fmt.Errorf("%d bytes after %d records", len(p), sg.value)
	}
	return nil
}
