package aegis

import "encoding/binary"

// The pure Go implementation. It builds on every architecture (the amd64
// tests compare it with the assembly) but New selects it only where the
// assembly is unavailable. aesRound indexes tables with secret bytes, so
// none of this is constant-time; see the package comment.

// state is the eight-block AEGIS-128L state S0..S7.
type state [8][16]byte

func sealGeneric(key, nonce *[16]byte, out, prefix, plaintext, ad []byte, tag *[16]byte) {
	var st state
	initGeneric(&st, key, nonce)
	absorbPadded(&st, ad)
	s := splitMsg(prefix, plaintext)
	encGeneric(&st, out[:s.pre], prefix[:s.pre])
	o := s.pre
	var buf [blockSize]byte
	if s.mid > 0 {
		join(&buf, prefix[s.pre:], plaintext[:s.mid])
		encGeneric(&st, buf[:], buf[:])
		o += copy(out[o:], buf[:])
	}
	encGeneric(&st, out[o:o+s.body], plaintext[s.mid:s.mid+s.body])
	o += s.body
	if tp, tt := s.tail(prefix, plaintext); len(tp)+len(tt) > 0 {
		// Enc of the zero-padded last block is what the draft specifies:
		// the padding is absorbed as plaintext and then truncated away.
		buf = [blockSize]byte{}
		n := join(&buf, tp, tt)
		encGeneric(&st, buf[:], buf[:])
		copy(out[o:o+n], buf[:])
	}
	finalizeGeneric(&st, len(ad), len(prefix)+len(plaintext), tag)
}

// openGeneric decrypts ciphertext (without its tag) into out and leaves
// the expected tag in tag; the caller compares.
func openGeneric(key, nonce *[16]byte, out, ciphertext, ad []byte, tag *[16]byte) {
	var st state
	initGeneric(&st, key, nonce)
	absorbPadded(&st, ad)
	n := len(ciphertext) &^ (blockSize - 1)
	decGeneric(&st, out[:n], ciphertext[:n])
	if n < len(ciphertext) {
		// DecPartial: unlike Enc, the state must absorb the plaintext
		// padded with zeros, not the keystream that decrypting the
		// ciphertext's zero padding would leave there.
		var buf [blockSize]byte
		rem := len(ciphertext) - n
		copy(buf[:], ciphertext[n:])
		z0, z1 := keystreamBlocks(&st)
		for i := range 16 {
			buf[i] ^= z0[i]
			buf[16+i] ^= z1[i]
		}
		copy(out[n:], buf[:rem])
		clear(buf[rem:])
		absorbGeneric(&st, buf[:])
	}
	finalizeGeneric(&st, len(ad), len(ciphertext), tag)
}

func absorbPadded(st *state, ad []byte) {
	n := len(ad) &^ (blockSize - 1)
	absorbGeneric(st, ad[:n])
	if n < len(ad) {
		var buf [blockSize]byte
		copy(buf[:], ad[n:])
		absorbGeneric(st, buf[:])
	}
}

// c0 and c1 are the draft's constants: the Fibonacci sequence mod 256.
var (
	c0 = [16]byte{0x00, 0x01, 0x01, 0x02, 0x03, 0x05, 0x08, 0x0d, 0x15, 0x22, 0x37, 0x59, 0x90, 0xe9, 0x79, 0x62}
	c1 = [16]byte{0xdb, 0x3d, 0x18, 0x55, 0x6d, 0xc2, 0x2f, 0xf1, 0x20, 0x11, 0x31, 0x42, 0x73, 0xb5, 0x28, 0xdd}
)

// te0..te3 fold SubBytes and MixColumns for one input row each, in the
// big-endian column convention of crypto/aes's generic code.
var te0, te1, te2, te3 = makeTables()

func makeTables() (t0, t1, t2, t3 [256]uint32) {
	sbox := computeSbox()
	for i, s := range sbox {
		s2 := xtime(s)
		s3 := s2 ^ s
		w := uint32(s2)<<24 | uint32(s)<<16 | uint32(s)<<8 | uint32(s3)
		t0[i] = w
		t1[i] = w>>8 | w<<24
		t2[i] = w>>16 | w<<16
		t3[i] = w>>24 | w<<8
	}
	return
}

// xtime multiplies by x (that is, 2) in GF(2^8) modulo the AES polynomial.
func xtime(b byte) byte {
	return b<<1 ^ (b>>7)*0x1b
}

func gfMul(a, b byte) byte {
	var r byte
	for b != 0 {
		if b&1 != 0 {
			r ^= a
		}
		a = xtime(a)
		b >>= 1
	}
	return r
}

// computeSbox derives the AES S-box from its definition (FIPS-197 5.1.1):
// multiplicative inverse followed by the affine map. Deriving it avoids a
// 256-entry literal that a typo could silently corrupt; the AESRound test
// vector checks the result.
func computeSbox() (sbox [256]byte) {
	for x := range 256 {
		b := gfInverse(byte(x))
		sbox[x] = b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ 0x63
	}
	return
}

// gfInverse returns x^254, which is x^-1 for x != 0 and 0 for x == 0.
func gfInverse(x byte) byte {
	r, sq := byte(1), x
	for e := 254; e > 0; e >>= 1 {
		if e&1 != 0 {
			r = gfMul(r, sq)
		}
		sq = gfMul(sq, sq)
	}
	return r
}

func rotl8(b byte, n uint) byte { return b<<n | b>>(8-n) }

// aesRound is the draft's AESRound(in, rk): SubBytes, ShiftRows,
// MixColumns, then XOR with rk; the same as one AESENC.
func aesRound(in, rk *[16]byte) (out [16]byte) {
	s0 := binary.BigEndian.Uint32(in[0:])
	s1 := binary.BigEndian.Uint32(in[4:])
	s2 := binary.BigEndian.Uint32(in[8:])
	s3 := binary.BigEndian.Uint32(in[12:])
	t0 := te0[s0>>24] ^ te1[s1>>16&0xff] ^ te2[s2>>8&0xff] ^ te3[s3&0xff]
	t1 := te0[s1>>24] ^ te1[s2>>16&0xff] ^ te2[s3>>8&0xff] ^ te3[s0&0xff]
	t2 := te0[s2>>24] ^ te1[s3>>16&0xff] ^ te2[s0>>8&0xff] ^ te3[s1&0xff]
	t3 := te0[s3>>24] ^ te1[s0>>16&0xff] ^ te2[s1>>8&0xff] ^ te3[s2&0xff]
	binary.BigEndian.PutUint32(out[0:], t0^binary.BigEndian.Uint32(rk[0:]))
	binary.BigEndian.PutUint32(out[4:], t1^binary.BigEndian.Uint32(rk[4:]))
	binary.BigEndian.PutUint32(out[8:], t2^binary.BigEndian.Uint32(rk[8:]))
	binary.BigEndian.PutUint32(out[12:], t3^binary.BigEndian.Uint32(rk[12:]))
	return out
}

func xor16(a, b *[16]byte) (out [16]byte) {
	binary.LittleEndian.PutUint64(out[0:], binary.LittleEndian.Uint64(a[0:])^binary.LittleEndian.Uint64(b[0:]))
	binary.LittleEndian.PutUint64(out[8:], binary.LittleEndian.Uint64(a[8:])^binary.LittleEndian.Uint64(b[8:]))
	return out
}

// updateGeneric is the draft's Update(M0, M1).
func updateGeneric(st *state, m0, m1 *[16]byte) {
	s0m := xor16(&st[0], m0)
	s4m := xor16(&st[4], m1)
	s7 := st[7]
	st[7] = aesRound(&st[6], &st[7])
	st[6] = aesRound(&st[5], &st[6])
	st[5] = aesRound(&st[4], &st[5])
	st[4] = aesRound(&st[3], &s4m)
	st[3] = aesRound(&st[2], &st[3])
	st[2] = aesRound(&st[1], &st[2])
	st[1] = aesRound(&st[0], &st[1])
	st[0] = aesRound(&s7, &s0m)
}

func initGeneric(st *state, key, nonce *[16]byte) {
	kn := xor16(key, nonce)
	st[0] = kn
	st[1] = c1
	st[2] = c0
	st[3] = c1
	st[4] = kn
	st[5] = xor16(key, &c0)
	st[6] = xor16(key, &c1)
	st[7] = st[5]
	for range 10 {
		updateGeneric(st, nonce, key)
	}
}

func absorbGeneric(st *state, src []byte) {
	for ; len(src) >= blockSize; src = src[blockSize:] {
		updateGeneric(st, (*[16]byte)(src[0:16]), (*[16]byte)(src[16:32]))
	}
}

// keystreamBlocks returns z0 and z1 for the current state.
func keystreamBlocks(st *state) (z0, z1 [16]byte) {
	for i := range 16 {
		z0[i] = st[6][i] ^ st[1][i] ^ (st[2][i] & st[3][i])
		z1[i] = st[2][i] ^ st[5][i] ^ (st[6][i] & st[7][i])
	}
	return
}

func encGeneric(st *state, dst, src []byte) {
	for ; len(src) >= blockSize; src, dst = src[blockSize:], dst[blockSize:] {
		z0, z1 := keystreamBlocks(st)
		t0 := *(*[16]byte)(src[0:16])
		t1 := *(*[16]byte)(src[16:32])
		*(*[16]byte)(dst[0:16]) = xor16(&t0, &z0)
		*(*[16]byte)(dst[16:32]) = xor16(&t1, &z1)
		updateGeneric(st, &t0, &t1)
	}
}

func decGeneric(st *state, dst, src []byte) {
	for ; len(src) >= blockSize; src, dst = src[blockSize:], dst[blockSize:] {
		z0, z1 := keystreamBlocks(st)
		m0 := xor16((*[16]byte)(src[0:16]), &z0)
		m1 := xor16((*[16]byte)(src[16:32]), &z1)
		*(*[16]byte)(dst[0:16]) = m0
		*(*[16]byte)(dst[16:32]) = m1
		updateGeneric(st, &m0, &m1)
	}
}

// finalizeGeneric is Finalize with a 128-bit tag.
func finalizeGeneric(st *state, adLen, msgLen int, tag *[16]byte) {
	var lens [16]byte
	binary.LittleEndian.PutUint64(lens[0:], uint64(adLen)*8)
	binary.LittleEndian.PutUint64(lens[8:], uint64(msgLen)*8)
	t := xor16(&st[2], &lens)
	for range 7 {
		updateGeneric(st, &t, &t)
	}
	out := st[0]
	for i := 1; i <= 6; i++ {
		out = xor16(&out, &st[i])
	}
	*tag = out
}
