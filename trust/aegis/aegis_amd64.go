//go:build amd64 && !purego

package aegis

import (
	"encoding/binary"

	"golang.org/x/sys/cpu"
)

// bestImpl is what New uses. The assembly needs AES-NI on top of the SSE2
// every amd64 CPU has; AVX-512VL (which x/sys/cpu reports only when the OS
// saves the AVX-512 state) speeds up its bulk loops.
var bestImpl = func() impl {
	switch {
	case cpu.X86.HasAES && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL:
		return implAVX512
	case cpu.X86.HasAES:
		return implAESNI
	}
	return implGeneric
}()

// asmBlocks carries what the assembly cannot cheaply take from the caller's
// slices: the zero-padded partial blocks and the lengths. Go fills it with
// 8-byte stores and the assembly reads it with 8-byte loads, so every load
// is store-forwarded (see aegis_amd64.s). Field offsets are hard-coded there.
type asmBlocks struct {
	adTail     [32]byte // zero-padded partial AD block
	msgTail    [32]byte // in: zero-padded partial input block; out: output block
	lens       [2]uint64
	adTailLen  uint64   // bytes of AD in adTail; 0 if AD is whole blocks
	msgTailLen uint64   // bytes of input in msgTail; 0 if none
	mid        [32]byte // seal: the block joining prefix and plaintext (msgSplit)
	midLen     uint64   // 32 if mid is sealed between the two regions, else 0
}

// sealAsm and openAsm run a whole message with the state in registers:
// ad, dst and src hold whole 32-byte blocks only, tails travel in b.
// openAsm writes the expected tag to tag for the caller to compare. avx512
// picks the bulk message loop; the rest is the same code for both.
// sealAsm takes its message as msgSplit walks it: src1 (prefix blocks)
// to dst1, b.mid if b.midLen is set, src2 (plaintext blocks) to dst2, and
// the tail.

//go:noescape
func sealAsm(key, nonce *[16]byte, ad, dst1, src1, dst2, src2 []byte, b *asmBlocks, tag *[16]byte, avx512 bool)

//go:noescape
func openAsm(key, nonce *[16]byte, ad, dst, src []byte, b *asmBlocks, tag *[16]byte, avx512 bool)

func sealWithAsm(i impl, key, nonce *[16]byte, out, prefix, plaintext, ad []byte, tag *[16]byte) {
	var b asmBlocks
	s := splitMsg(prefix, plaintext)
	adFull := b.prepareAD(ad)
	if s.mid > 0 {
		var blk [blockSize]byte
		join(&blk, prefix[s.pre:], plaintext[:s.mid])
		putTail(&b.mid, blk[:])
		b.midLen = blockSize
	}
	tp, tt := s.tail(prefix, plaintext)
	if len(tp) > 0 {
		var blk [blockSize]byte
		b.msgTailLen = uint64(putTail(&b.msgTail, blk[:join(&blk, tp, tt)]))
	} else {
		b.msgTailLen = uint64(putTail(&b.msgTail, tt))
	}
	n := len(prefix) + len(plaintext)
	b.lens[1] = uint64(n) * 8
	o := s.pre + s.midLen()
	sealAsm(key, nonce, ad[:adFull], out[:s.pre], prefix[:s.pre], out[o:o+s.body], plaintext[s.mid:s.mid+s.body], &b, tag, i == implAVX512)
	copy(out[s.pre:o], b.mid[:])
	copy(out[o+s.body:n], b.msgTail[:b.msgTailLen])
}

func openWithAsm(i impl, key, nonce *[16]byte, out, ciphertext, ad []byte, tag *[16]byte) {
	var b asmBlocks
	adFull, msgFull := b.prepare(ad, ciphertext)
	openAsm(key, nonce, ad[:adFull], out[:msgFull], ciphertext[:msgFull], &b, tag, i == implAVX512)
	copy(out[msgFull:], b.msgTail[:b.msgTailLen])
}

// prepare fills b for ad and msg and returns how many bytes of each are
// whole blocks.
func (b *asmBlocks) prepare(ad, msg []byte) (adFull, msgFull int) {
	adFull = b.prepareAD(ad)
	msgFull = len(msg) &^ (blockSize - 1)
	b.msgTailLen = uint64(putTail(&b.msgTail, msg[msgFull:]))
	b.lens[1] = uint64(len(msg)) * 8
	return adFull, msgFull
}

// prepareAD fills b's AD tail and length and returns how many bytes of ad
// are whole blocks.
func (b *asmBlocks) prepareAD(ad []byte) (adFull int) {
	adFull = len(ad) &^ (blockSize - 1)
	b.adTailLen = uint64(putTail(&b.adTail, ad[adFull:]))
	b.lens[0] = uint64(len(ad)) * 8
	return adFull
}

// putTail stores tail (under 32 bytes) into the zeroed dst one 8-byte word
// at a time, so the assembly's 8-byte loads are store-forwarded.
func putTail(dst *[32]byte, tail []byte) int {
	i := 0
	for ; i+8 <= len(tail); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(tail[i:]))
	}
	if i < len(tail) {
		var w uint64
		for j := len(tail) - 1; j >= i; j-- {
			w = w<<8 | uint64(tail[j])
		}
		binary.LittleEndian.PutUint64(dst[i:], w)
	}
	return len(tail)
}
