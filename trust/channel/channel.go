package channel

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/securecached/securecached/trust"
	"github.com/securecached/securecached/trust/aegis"
)

// Record framing sizes.
const (
	TrailerLen = 14 // version(1) type(1) epoch(4) seq(8)
	TagLen     = 16
	// Overhead is what Seal adds to a plaintext.
	Overhead = TagLen + TrailerLen
	// MaxPlaintext bounds one record's plaintext.
	MaxPlaintext = 1 << 24
)

// Channel is an established channel: Seal protects outgoing records, Open
// checks incoming ones. The two directions have separate state, so one
// goroutine may send while another receives; but Seal calls must not
// overlap each other, nor Open calls each other (in Diggi the agent's baton
// serialises them; a lock per record would cost more than it protects).
type Channel struct {
	name     string
	log      *slog.Logger
	peer     *trust.Claims
	binding  [32]byte
	maxMsgs  uint64
	maxBytes uint64
	stats    counters

	send struct {
		dir   direction
		msgs  uint64 // records under the current key
		bytes uint64 // plaintext bytes under the current key
	}
	recv struct {
		dir    direction
		next   aegis.AEAD // epoch+1, derived lazily when a record claims it
		nextK  [32]byte
		broken bool
	}
}

// direction is one direction's key state. seq is the next sequence number
// to send or to accept.
type direction struct {
	key   [32]byte // traffic secret of the current epoch
	aead  aegis.AEAD
	epoch uint32
	seq   uint64
	nonce [aegis.NonceSize]byte // zeros, then the 64-bit sequence number
	tr    [TrailerLen]byte
	ad    []byte // scratch: record trailer || caller's associated data
}

// warnTiming logs, once per process, that records are sealed without
// constant-time AES.
var warnTiming sync.Once

func newChannel(cfg *Config, sendKey, recvKey [32]byte, binding []byte, peer *trust.Claims, initiator bool) (*Channel, error) {
	c := &Channel{name: cfg.Name, log: cfg.logger(), peer: peer}
	if !aegis.ConstantTime() {
		warnTiming.Do(func() {
			c.log.Warn("channel records use AEGIS-128L's table-based Go fallback (no AES-NI): it is not constant-time, and a co-located attacker may learn key material from cache timing")
		})
	}
	c.maxMsgs, c.maxBytes = cfg.limits()
	copy(c.binding[:], binding)
	// Label keys by direction so that a record can never be reflected back
	// to its sender.
	sendLabel, recvLabel := "diggi-record-v1 initiator->responder", "diggi-record-v1 responder->initiator"
	if !initiator {
		sendLabel, recvLabel = recvLabel, sendLabel
	}
	if err := c.send.dir.init(sendKey, c.binding[:], sendLabel); err != nil {
		return nil, err
	}
	if err := c.recv.dir.init(recvKey, c.binding[:], recvLabel); err != nil {
		return nil, err
	}
	clear(sendKey[:])
	clear(recvKey[:])
	return c, nil
}

func (d *direction) init(noiseKey [32]byte, binding []byte, label string) error {
	k, err := hkdf.Key(sha256.New, noiseKey[:], binding, label, 32)
	if err != nil {
		return fmt.Errorf("%w: derive record key: %v", ErrHandshake, err)
	}
	copy(d.key[:], k)
	clear(k)
	d.aead, err = newAEAD(&d.key)
	d.seq = 1
	d.ad = make([]byte, 0, TrailerLen+64)
	return err
}

// newAEAD makes the record cipher for a traffic secret: AEGIS-128L under a
// key expanded from the secret, so the secret that ratchets is never itself
// a cipher key. AEGIS-128L rather than the stdlib's AES-128-GCM because
// every message between trusted agents is sealed and opened once, and on
// the same AES-NI hardware it costs about half as much at 1 KB (`go test
// -run '^$' -bench 1KB ./trust/aegis` measures both); its 128-bit key
// matches the security level of the handshake (X25519).
func newAEAD(secret *[32]byte) (aegis.AEAD, error) {
	k, err := hkdf.Expand(sha256.New, secret[:], "diggi-record-v2 aegis-128l key", aegis.KeySize)
	if err != nil {
		return nil, fmt.Errorf("channel: record key: %w", err)
	}
	defer clear(k)
	return aegis.New(k)
}

// ratchet derives the key of the next epoch from the current one; the old
// key cannot be recomputed from the new one.
func ratchet(key *[32]byte) ([32]byte, error) {
	var next [32]byte
	k, err := hkdf.Expand(sha256.New, key[:], "diggi-record-v1 rekey", 32)
	if err != nil {
		return next, fmt.Errorf("channel: rekey: %w", err)
	}
	copy(next[:], k)
	clear(k)
	return next, nil
}

// Peer returns the peer's verified claims, or nil if the peer did not have
// to attest (no Verifier configured).
func (c *Channel) Peer() *trust.Claims { return c.peer }

// Broken reports whether the receive direction broke on a gap; the
// channel then refuses everything and must be replaced.
func (c *Channel) Broken() bool { return c.recv.broken }

// Binding returns the handshake hash, unique to this channel.
func (c *Channel) Binding() [32]byte { return c.binding }

func putTrailer(b []byte, epoch uint32, seq uint64) {
	b[0], b[1] = Version, typeData
	binary.BigEndian.PutUint32(b[2:], epoch)
	binary.BigEndian.PutUint64(b[6:], seq)
}

// Seal appends a record protecting plaintext and binding aad to dst and
// returns the extended slice. It does not allocate when dst has room for
// Overhead+len(plaintext) more bytes. To seal in place, call
// Seal(buf[:0], buf[:n], aad) with cap(buf) >= n+Overhead: the ciphertext
// overwrites the plaintext.
func (c *Channel) Seal(dst, plaintext, aad []byte) ([]byte, error) {
	return c.SealPrefixed(dst, nil, plaintext, aad)
}

// SealPrefixed is Seal of prefix||plaintext, reading the two where they
// lie (aegis.AEAD.SealPrefixed): a caller that frames a large payload
// behind a short header seals it without first copying it next to the
// header. The record is the one Seal of the joined bytes makes, and Open
// returns the joined bytes. dst may alias plaintext only when prefix is
// empty (ErrOverlap otherwise).
func (c *Channel) SealPrefixed(dst, prefix, plaintext, aad []byte) ([]byte, error) {
	n := len(prefix) + len(plaintext)
	if n > MaxPlaintext {
		return dst, fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	s := &c.send
	if s.msgs >= c.maxMsgs || s.bytes >= c.maxBytes {
		if err := c.rotateSend(); err != nil {
			return dst, err
		}
	}
	d := &s.dir
	if d.seq == math.MaxUint64 {
		return dst, ErrExhausted
	}
	l := len(dst)
	if cap(dst)-l < Overhead+n {
		grown := make([]byte, l, l+Overhead+n)
		copy(grown, dst)
		dst = grown
	}
	region := dst[l : l+Overhead+n]
	if anyOverlap(region, prefix) || badOverlap(region, plaintext) || len(prefix) > 0 && anyOverlap(region, plaintext) {
		return dst[:l], ErrOverlap
	}
	putTrailer(d.tr[:], d.epoch, d.seq)
	binary.BigEndian.PutUint64(d.nonce[8:], d.seq)
	d.ad = append(append(d.ad[:0], d.tr[:]...), aad...)
	out := d.aead.SealPrefixed(dst, d.nonce[:], prefix, plaintext, d.ad)
	out = append(out, d.tr[:]...)
	d.seq++
	s.msgs++
	s.bytes += uint64(n)
	c.stats.sealed.Add(1)
	return out, nil
}

func (c *Channel) rotateSend() error {
	s := &c.send
	if s.dir.epoch == math.MaxUint32 {
		return ErrExhausted
	}
	next, err := ratchet(&s.dir.key)
	if err != nil {
		return err
	}
	clear(s.dir.key[:])
	s.dir.key = next
	clear(next[:])
	if s.dir.aead, err = newAEAD(&s.dir.key); err != nil {
		return err
	}
	s.dir.epoch++
	s.msgs, s.bytes = 0, 0
	c.stats.rekeys.Add(1)
	return nil
}

// Open checks a record and appends its plaintext to dst. aad must equal
// what the sender passed to Seal. To open in place, call
// Open(rec[:0], rec, aad): the plaintext overwrites the ciphertext. A refused record returns dst unchanged (its bytes
// cleared if it was decrypted in place) and an error: ErrMalformed,
// ErrTampered, ErrReplay, ErrGap or ErrBroken. Refusals are counted and
// logged.
func (c *Channel) Open(dst, record, aad []byte) ([]byte, error) {
	r := &c.recv
	if r.broken {
		return dst, c.refuse(ErrBroken, 0, 0)
	}
	if len(record) < Overhead {
		return dst, c.refuse(ErrMalformed, 0, 0)
	}
	ct, tr := record[:len(record)-TrailerLen], record[len(record)-TrailerLen:]
	if tr[0] != Version || tr[1] != typeData {
		return dst, c.refuse(ErrMalformed, 0, 0)
	}
	epoch := binary.BigEndian.Uint32(tr[2:])
	seq := binary.BigEndian.Uint64(tr[6:])
	d := &r.dir
	var aead cipher.AEAD
	switch {
	case epoch == d.epoch:
		aead = d.aead
	case epoch == d.epoch+1 && d.epoch != math.MaxUint32:
		var err error
		if aead, err = c.nextRecvAEAD(); err != nil {
			return dst, err
		}
	case epoch < d.epoch:
		// Older keys are erased; an authentic record from a past epoch
		// is necessarily a replay, and a forged one is refused as well.
		return dst, c.refuse(ErrReplay, seq, epoch)
	default:
		return dst, c.refuse(ErrTampered, seq, epoch)
	}
	if cap(dst)-len(dst) >= len(ct)-TagLen && badOverlap(dst[len(dst):len(dst)+len(ct)-TagLen], ct) {
		return dst, ErrOverlap
	}
	binary.BigEndian.PutUint64(d.nonce[8:], seq)
	d.ad = append(append(d.ad[:0], tr...), aad...)
	out, err := aead.Open(dst, d.nonce[:], ct, d.ad)
	if err != nil {
		return dst, c.refuse(ErrTampered, seq, epoch)
	}
	switch {
	case seq < d.seq:
		clear(out[len(dst):])
		return dst, c.refuse(ErrReplay, seq, epoch)
	case seq > d.seq:
		clear(out[len(dst):])
		r.broken = true
		return dst, c.refuse(ErrGap, seq, epoch)
	}
	if epoch != d.epoch {
		d.key, d.aead, d.epoch = r.nextK, r.next, epoch
		clear(r.nextK[:])
		r.next = nil
		c.stats.rekeys.Add(1)
	}
	d.seq++
	c.stats.opened.Add(1)
	return out, nil
}

func (c *Channel) nextRecvAEAD() (aegis.AEAD, error) {
	r := &c.recv
	if r.next != nil {
		return r.next, nil
	}
	next, err := ratchet(&r.dir.key)
	if err != nil {
		return nil, err
	}
	r.nextK = next
	if r.next, err = newAEAD(&r.nextK); err != nil {
		return nil, err
	}
	return r.next, nil
}

// refuse counts and logs a refused record and returns err with context.
func (c *Channel) refuse(err error, seq uint64, epoch uint32) error {
	c.stats.count(err)
	expected := c.recv.dir.seq
	c.log.Warn("trust/channel: record refused", "channel", c.name, "reason", err.Error(),
		"seq", seq, "expected", expected, "epoch", epoch)
	if err == ErrMalformed || err == ErrBroken {
		return err
	}
	return fmt.Errorf("%w (seq %d, expected %d, epoch %d)", err, seq, expected, epoch)
}
