//go:build amd64 && !purego

#include "textflag.h"

// AEGIS-128L with AES-NI and SSE2 (sealAESNI, openAESNI), or with AVX-512VL
// for the bulk loops (sealAVX512, openAVX512). Each function runs a
// whole message: the state S0..S7 lives in X0..X7 from Init to Finalize and
// never touches memory. X8 and X9 carry an update's two message blocks,
// X10 and X11 Init's nonce and key or Finalize's t, X12 and X13 the
// keystream, X14 is scratch.
//
// AESENC rk, dst computes dst = AESRound(dst, rk), and Update needs
// S'i = AESRound(S(i-1), Si), so the natural destination for S'i is the
// register holding S(i-1). UPDATE does exactly that, with no register
// copies: afterwards S'i sits in the register that held S(i-1). The state
// thus rotates down one register per update; the loops unroll eight updates
// so the mapping comes back to S_j in X_j, and ROTATE restores it after a
// single update. The macros take the current mapping as A0..A7.
//
// Partial blocks arrive zero-padded in a *asmBlocks that Go filled with
// 8-byte stores. They are read back with 8-byte loads: a 16-byte load
// spanning two smaller stores cannot be store-forwarded and stalls for
// longer than a whole block takes.

// C0 and C1 from the draft, as little-endian quadwords.
DATA c0<>+0x00(SB)/8, $0x0d08050302010100
DATA c0<>+0x08(SB)/8, $0x6279e99059372215
GLOBL c0<>(SB), RODATA|NOPTR, $16

DATA c1<>+0x00(SB)/8, $0xf12fc26d55183ddb
DATA c1<>+0x08(SB)/8, $0xdd28b57342311120
GLOBL c1<>(SB), RODATA|NOPTR, $16

// 32 bytes of ones then 32 of zeros: the 32 bytes at mask<>+32-n keep the
// first n bytes of a block.
DATA mask<>+0x00(SB)/8, $0xffffffffffffffff
DATA mask<>+0x08(SB)/8, $0xffffffffffffffff
DATA mask<>+0x10(SB)/8, $0xffffffffffffffff
DATA mask<>+0x18(SB)/8, $0xffffffffffffffff
DATA mask<>+0x20(SB)/8, $0
DATA mask<>+0x28(SB)/8, $0
DATA mask<>+0x30(SB)/8, $0
DATA mask<>+0x38(SB)/8, $0
GLOBL mask<>(SB), RODATA|NOPTR, $64

// Offsets in asmBlocks (aegis_amd64.go; TestAsmBlocksLayout checks them).
#define AD_TAIL 0
#define MSG_TAIL 32
#define LENS 64
#define AD_TAIL_LEN 80
#define MSG_TAIL_LEN 88

// UPDATE is the draft's Update(M0, M1) with S_j in A_j on entry; on exit
// S'0 is in A7 and S'j in A(j-1). Each AESENC reads its round key before
// a later one overwrites that register. M0 and M1 are clobbered.
#define UPDATE(M0, M1, A0, A1, A2, A3, A4, A5, A6, A7) \
	PXOR   A0, M0; \
	PXOR   A4, M1; \
	AESENC A1, A0; \
	AESENC A2, A1; \
	AESENC A3, A2; \
	AESENC M1, A3; \
	AESENC A5, A4; \
	AESENC A6, A5; \
	AESENC A7, A6; \
	AESENC M0, A7

// ROTATE moves the state back to S_j in X_j after one UPDATE from there.
#define ROTATE \
	MOVO X7, X14; \
	MOVO X6, X7;  \
	MOVO X5, X6;  \
	MOVO X4, X5;  \
	MOVO X3, X4;  \
	MOVO X2, X3;  \
	MOVO X1, X2;  \
	MOVO X0, X1;  \
	MOVO X14, X0

// KEYSTREAM leaves z0 = S6 ^ S1 ^ (S2 & S3) in X12 and
// z1 = S2 ^ S5 ^ (S6 & S7) in X13.
#define KEYSTREAM(A0, A1, A2, A3, A4, A5, A6, A7) \
	MOVO A2, X12; \
	PAND A3, X12; \
	PXOR A6, X12; \
	PXOR A1, X12; \
	MOVO A6, X13; \
	PAND A7, X13; \
	PXOR A2, X13; \
	PXOR A5, X13

// INIT_UPDATE is Update(nonce, key) with the nonce in X10, the key in X11.
#define INIT_UPDATE(A0, A1, A2, A3, A4, A5, A6, A7) \
	MOVO X10, X8; \
	MOVO X11, X9; \
	UPDATE(X8, X9, A0, A1, A2, A3, A4, A5, A6, A7)

// FINAL_UPDATE is Update(t, t) with t in X10.
#define FINAL_UPDATE(A0, A1, A2, A3, A4, A5, A6, A7) \
	MOVO X10, X8; \
	MOVO X10, X9; \
	UPDATE(X8, X9, A0, A1, A2, A3, A4, A5, A6, A7)

// ABSORB absorbs the 32 bytes at OFF(BX).
#define ABSORB(OFF0, OFF1, A0, A1, A2, A3, A4, A5, A6, A7) \
	MOVOU OFF0(BX), X8; \
	MOVOU OFF1(BX), X9; \
	UPDATE(X8, X9, A0, A1, A2, A3, A4, A5, A6, A7)

// ENC encrypts the 32 bytes at OFF(SI) to OFF(DI).
#define ENC(OFF0, OFF1, A0, A1, A2, A3, A4, A5, A6, A7) \
	MOVOU OFF0(SI), X8;                        \
	MOVOU OFF1(SI), X9;                        \
	KEYSTREAM(A0, A1, A2, A3, A4, A5, A6, A7); \
	PXOR  X8, X12;                             \
	PXOR  X9, X13;                             \
	MOVOU X12, OFF0(DI);                       \
	MOVOU X13, OFF1(DI);                       \
	UPDATE(X8, X9, A0, A1, A2, A3, A4, A5, A6, A7)

// DEC decrypts the 32 bytes at OFF(SI) to OFF(DI).
#define DEC(OFF0, OFF1, A0, A1, A2, A3, A4, A5, A6, A7) \
	MOVOU OFF0(SI), X8;                        \
	MOVOU OFF1(SI), X9;                        \
	KEYSTREAM(A0, A1, A2, A3, A4, A5, A6, A7); \
	PXOR  X12, X8;                             \
	PXOR  X13, X9;                             \
	MOVOU X8, OFF0(DI);                        \
	MOVOU X9, OFF1(DI);                        \
	UPDATE(X8, X9, A0, A1, A2, A3, A4, A5, A6, A7)

// ENC512 and DEC512 are ENC and DEC for CPUs with AVX-512VL: VPTERNLOGQ
// computes t ^ z in two instructions instead of four, which matters
// because these loops are bound by the three vector ALU ports the eight
// AESENCs per block also need. Imm 0x78 is A ^ (B & C), 0x96 is A ^ B ^ C.
#define ENC512(OFF0, OFF1, A0, A1, A2, A3, A4, A5, A6, A7) \
	MOVOU      OFF0(SI), X8;        \
	MOVOU      OFF1(SI), X9;        \
	MOVO       X8, X12;             \
	VPTERNLOGQ $0x78, A3, A2, X12;  \
	VPTERNLOGQ $0x96, A6, A1, X12;  \
	MOVO       X9, X13;             \
	VPTERNLOGQ $0x78, A7, A6, X13;  \
	VPTERNLOGQ $0x96, A5, A2, X13;  \
	MOVOU      X12, OFF0(DI);       \
	MOVOU      X13, OFF1(DI);       \
	UPDATE(X8, X9, A0, A1, A2, A3, A4, A5, A6, A7)

#define DEC512(OFF0, OFF1, A0, A1, A2, A3, A4, A5, A6, A7) \
	MOVOU      OFF0(SI), X8;        \
	MOVOU      OFF1(SI), X9;        \
	VPTERNLOGQ $0x78, A3, A2, X8;   \
	VPTERNLOGQ $0x96, A6, A1, X8;   \
	VPTERNLOGQ $0x78, A7, A6, X9;   \
	VPTERNLOGQ $0x96, A5, A2, X9;   \
	MOVOU      X8, OFF0(DI);        \
	MOVOU      X9, OFF1(DI);        \
	UPDATE(X8, X9, A0, A1, A2, A3, A4, A5, A6, A7)

// LOAD_TAIL loads the padded block at OFF(AX) into X8 and X9 with
// 8-byte loads (see the top of the file).
#define LOAD_TAIL(OFF0, OFF1, OFF2, OFF3) \
	MOVQ       OFF0(AX), X8; \
	MOVQ       OFF1(AX), X14; \
	PUNPCKLQDQ X14, X8;      \
	MOVQ       OFF2(AX), X9; \
	MOVQ       OFF3(AX), X14; \
	PUNPCKLQDQ X14, X9

// func sealAESNI(key, nonce *[16]byte, ad, dst, src []byte, b *asmBlocks, tag *[16]byte)
TEXT ·sealAESNI(SB), NOSPLIT, $0-104
	MOVQ b+88(FP), AX
	// Init(key, nonce).
	MOVQ  key+0(FP), R8
	MOVQ  nonce+8(FP), R9
	MOVOU (R8), X11          // key
	MOVOU (R9), X10          // nonce
	MOVOU c0<>(SB), X2       // S2 = C0
	MOVOU c1<>(SB), X1       // S1 = C1
	MOVO  X1, X3             // S3 = C1
	MOVO  X11, X0
	PXOR  X10, X0            // S0 = key ^ nonce
	MOVO  X0, X4             // S4 = key ^ nonce
	MOVO  X11, X5
	PXOR  X2, X5             // S5 = key ^ C0
	MOVO  X11, X6
	PXOR  X1, X6             // S6 = key ^ C1
	MOVO  X5, X7             // S7 = key ^ C0
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	INIT_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6)
	INIT_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5)
	INIT_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4)
	INIT_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3)
	INIT_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2)
	INIT_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1)
	INIT_UPDATE(X1, X2, X3, X4, X5, X6, X7, X0)
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

	MOVQ ad_base+16(FP), BX
	MOVQ ad_len+24(FP), DX
	// AD whole blocks, eight at a time, then singly.
	SHRQ $5, DX
	JZ   sealAESNIADDone
	CMPQ DX, $8
	JB   sealAESNIADOne

sealAESNIADEight:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ABSORB(32, 48, X7, X0, X1, X2, X3, X4, X5, X6)
	ABSORB(64, 80, X6, X7, X0, X1, X2, X3, X4, X5)
	ABSORB(96, 112, X5, X6, X7, X0, X1, X2, X3, X4)
	ABSORB(128, 144, X4, X5, X6, X7, X0, X1, X2, X3)
	ABSORB(160, 176, X3, X4, X5, X6, X7, X0, X1, X2)
	ABSORB(192, 208, X2, X3, X4, X5, X6, X7, X0, X1)
	ABSORB(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)
	ADDQ $256, BX
	SUBQ $8, DX
	CMPQ DX, $8
	JAE  sealAESNIADEight
	TESTQ DX, DX
	JZ   sealAESNIADDone

sealAESNIADOne:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, BX
	DECQ DX
	JNZ  sealAESNIADOne

sealAESNIADDone:
	CMPQ AD_TAIL_LEN(AX), $0
	JEQ  sealAESNIADTailDone
	LOAD_TAIL(AD_TAIL, AD_TAIL+8, AD_TAIL+16, AD_TAIL+24)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

sealAESNIADTailDone:

	MOVQ dst_base+40(FP), DI
	MOVQ src_base+64(FP), SI
	MOVQ src_len+72(FP), CX
	// Msg whole blocks, eight at a time, then singly.
	SHRQ $5, CX
	JZ   sealAESNIMsgDone
	CMPQ CX, $8
	JB   sealAESNIMsgOne

sealAESNIMsgEight:
	ENC(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ENC(32, 48, X7, X0, X1, X2, X3, X4, X5, X6)
	ENC(64, 80, X6, X7, X0, X1, X2, X3, X4, X5)
	ENC(96, 112, X5, X6, X7, X0, X1, X2, X3, X4)
	ENC(128, 144, X4, X5, X6, X7, X0, X1, X2, X3)
	ENC(160, 176, X3, X4, X5, X6, X7, X0, X1, X2)
	ENC(192, 208, X2, X3, X4, X5, X6, X7, X0, X1)
	ENC(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  sealAESNIMsgEight
	TESTQ CX, CX
	JZ   sealAESNIMsgDone

sealAESNIMsgOne:
	ENC(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sealAESNIMsgOne

sealAESNIMsgDone:
	MOVQ MSG_TAIL_LEN(AX), CX
	TESTQ CX, CX
	JZ   sealAESNIMsgTailDone
	LOAD_TAIL(MSG_TAIL, MSG_TAIL+8, MSG_TAIL+16, MSG_TAIL+24)
	KEYSTREAM(X0, X1, X2, X3, X4, X5, X6, X7)
	// Enc of the zero-padded plaintext; Go keeps the first n bytes.
	PXOR  X8, X12
	PXOR  X9, X13
	MOVOU X12, MSG_TAIL(AX)
	MOVOU X13, MSG_TAIL+16(AX)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

sealAESNIMsgTailDone:
	// Finalize: t = S2 ^ (LE64(ad bits) || LE64(msg bits)).
	MOVQ       LENS(AX), X10
	MOVQ       LENS+8(AX), X14
	PUNPCKLQDQ X14, X10
	PXOR       X2, X10
	FINAL_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	FINAL_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6)
	FINAL_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5)
	FINAL_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4)
	FINAL_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3)
	FINAL_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2)
	FINAL_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1)

	// Seven updates leave S_j in X_(j+1); the tag is S0 ^ ... ^ S6, which
	// is every register but X0 (S7).
	MOVQ  tag+96(FP), R8
	PXOR  X2, X1
	PXOR  X3, X1
	PXOR  X4, X1
	PXOR  X5, X1
	PXOR  X6, X1
	PXOR  X7, X1
	MOVOU X1, (R8)
	RET

// func openAESNI(key, nonce *[16]byte, ad, dst, src []byte, b *asmBlocks, tag *[16]byte)
TEXT ·openAESNI(SB), NOSPLIT, $0-104
	MOVQ b+88(FP), AX
	// Init(key, nonce).
	MOVQ  key+0(FP), R8
	MOVQ  nonce+8(FP), R9
	MOVOU (R8), X11          // key
	MOVOU (R9), X10          // nonce
	MOVOU c0<>(SB), X2       // S2 = C0
	MOVOU c1<>(SB), X1       // S1 = C1
	MOVO  X1, X3             // S3 = C1
	MOVO  X11, X0
	PXOR  X10, X0            // S0 = key ^ nonce
	MOVO  X0, X4             // S4 = key ^ nonce
	MOVO  X11, X5
	PXOR  X2, X5             // S5 = key ^ C0
	MOVO  X11, X6
	PXOR  X1, X6             // S6 = key ^ C1
	MOVO  X5, X7             // S7 = key ^ C0
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	INIT_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6)
	INIT_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5)
	INIT_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4)
	INIT_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3)
	INIT_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2)
	INIT_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1)
	INIT_UPDATE(X1, X2, X3, X4, X5, X6, X7, X0)
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

	MOVQ ad_base+16(FP), BX
	MOVQ ad_len+24(FP), DX
	// AD whole blocks, eight at a time, then singly.
	SHRQ $5, DX
	JZ   openAESNIADDone
	CMPQ DX, $8
	JB   openAESNIADOne

openAESNIADEight:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ABSORB(32, 48, X7, X0, X1, X2, X3, X4, X5, X6)
	ABSORB(64, 80, X6, X7, X0, X1, X2, X3, X4, X5)
	ABSORB(96, 112, X5, X6, X7, X0, X1, X2, X3, X4)
	ABSORB(128, 144, X4, X5, X6, X7, X0, X1, X2, X3)
	ABSORB(160, 176, X3, X4, X5, X6, X7, X0, X1, X2)
	ABSORB(192, 208, X2, X3, X4, X5, X6, X7, X0, X1)
	ABSORB(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)
	ADDQ $256, BX
	SUBQ $8, DX
	CMPQ DX, $8
	JAE  openAESNIADEight
	TESTQ DX, DX
	JZ   openAESNIADDone

openAESNIADOne:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, BX
	DECQ DX
	JNZ  openAESNIADOne

openAESNIADDone:
	CMPQ AD_TAIL_LEN(AX), $0
	JEQ  openAESNIADTailDone
	LOAD_TAIL(AD_TAIL, AD_TAIL+8, AD_TAIL+16, AD_TAIL+24)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

openAESNIADTailDone:

	MOVQ dst_base+40(FP), DI
	MOVQ src_base+64(FP), SI
	MOVQ src_len+72(FP), CX
	// Msg whole blocks, eight at a time, then singly.
	SHRQ $5, CX
	JZ   openAESNIMsgDone
	CMPQ CX, $8
	JB   openAESNIMsgOne

openAESNIMsgEight:
	DEC(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	DEC(32, 48, X7, X0, X1, X2, X3, X4, X5, X6)
	DEC(64, 80, X6, X7, X0, X1, X2, X3, X4, X5)
	DEC(96, 112, X5, X6, X7, X0, X1, X2, X3, X4)
	DEC(128, 144, X4, X5, X6, X7, X0, X1, X2, X3)
	DEC(160, 176, X3, X4, X5, X6, X7, X0, X1, X2)
	DEC(192, 208, X2, X3, X4, X5, X6, X7, X0, X1)
	DEC(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  openAESNIMsgEight
	TESTQ CX, CX
	JZ   openAESNIMsgDone

openAESNIMsgOne:
	DEC(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  openAESNIMsgOne

openAESNIMsgDone:
	MOVQ MSG_TAIL_LEN(AX), CX
	TESTQ CX, CX
	JZ   openAESNIMsgTailDone
	LOAD_TAIL(MSG_TAIL, MSG_TAIL+8, MSG_TAIL+16, MSG_TAIL+24)
	KEYSTREAM(X0, X1, X2, X3, X4, X5, X6, X7)
	// DecPartial: Go keeps the first n bytes of ciphertext ^ keystream,
	// and the state absorbs them zero-padded, not the keystream bytes
	// that decrypting the padding leaves behind.
	PXOR  X12, X8
	PXOR  X13, X9
	MOVOU X8, MSG_TAIL(AX)
	MOVOU X9, MSG_TAIL+16(AX)
	LEAQ  mask<>+32(SB), R8
	SUBQ  CX, R8
	MOVOU (R8), X12
	MOVOU 16(R8), X13
	PAND  X12, X8
	PAND  X13, X9
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

openAESNIMsgTailDone:
	// Finalize: t = S2 ^ (LE64(ad bits) || LE64(msg bits)).
	MOVQ       LENS(AX), X10
	MOVQ       LENS+8(AX), X14
	PUNPCKLQDQ X14, X10
	PXOR       X2, X10
	FINAL_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	FINAL_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6)
	FINAL_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5)
	FINAL_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4)
	FINAL_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3)
	FINAL_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2)
	FINAL_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1)

	// Seven updates leave S_j in X_(j+1); the tag is S0 ^ ... ^ S6, which
	// is every register but X0 (S7).
	MOVQ  tag+96(FP), R8
	PXOR  X2, X1
	PXOR  X3, X1
	PXOR  X4, X1
	PXOR  X5, X1
	PXOR  X6, X1
	PXOR  X7, X1
	MOVOU X1, (R8)
	RET

// func sealAVX512(key, nonce *[16]byte, ad, dst, src []byte, b *asmBlocks, tag *[16]byte)
TEXT ·sealAVX512(SB), NOSPLIT, $0-104
	MOVQ b+88(FP), AX
	// Init(key, nonce).
	MOVQ  key+0(FP), R8
	MOVQ  nonce+8(FP), R9
	MOVOU (R8), X11          // key
	MOVOU (R9), X10          // nonce
	MOVOU c0<>(SB), X2       // S2 = C0
	MOVOU c1<>(SB), X1       // S1 = C1
	MOVO  X1, X3             // S3 = C1
	MOVO  X11, X0
	PXOR  X10, X0            // S0 = key ^ nonce
	MOVO  X0, X4             // S4 = key ^ nonce
	MOVO  X11, X5
	PXOR  X2, X5             // S5 = key ^ C0
	MOVO  X11, X6
	PXOR  X1, X6             // S6 = key ^ C1
	MOVO  X5, X7             // S7 = key ^ C0
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	INIT_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6)
	INIT_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5)
	INIT_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4)
	INIT_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3)
	INIT_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2)
	INIT_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1)
	INIT_UPDATE(X1, X2, X3, X4, X5, X6, X7, X0)
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

	MOVQ ad_base+16(FP), BX
	MOVQ ad_len+24(FP), DX
	// AD whole blocks, eight at a time, then singly.
	SHRQ $5, DX
	JZ   sealAVX512ADDone
	CMPQ DX, $8
	JB   sealAVX512ADOne

sealAVX512ADEight:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ABSORB(32, 48, X7, X0, X1, X2, X3, X4, X5, X6)
	ABSORB(64, 80, X6, X7, X0, X1, X2, X3, X4, X5)
	ABSORB(96, 112, X5, X6, X7, X0, X1, X2, X3, X4)
	ABSORB(128, 144, X4, X5, X6, X7, X0, X1, X2, X3)
	ABSORB(160, 176, X3, X4, X5, X6, X7, X0, X1, X2)
	ABSORB(192, 208, X2, X3, X4, X5, X6, X7, X0, X1)
	ABSORB(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)
	ADDQ $256, BX
	SUBQ $8, DX
	CMPQ DX, $8
	JAE  sealAVX512ADEight
	TESTQ DX, DX
	JZ   sealAVX512ADDone

sealAVX512ADOne:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, BX
	DECQ DX
	JNZ  sealAVX512ADOne

sealAVX512ADDone:
	CMPQ AD_TAIL_LEN(AX), $0
	JEQ  sealAVX512ADTailDone
	LOAD_TAIL(AD_TAIL, AD_TAIL+8, AD_TAIL+16, AD_TAIL+24)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

sealAVX512ADTailDone:

	MOVQ dst_base+40(FP), DI
	MOVQ src_base+64(FP), SI
	MOVQ src_len+72(FP), CX
	// Msg whole blocks, eight at a time, then singly.
	SHRQ $5, CX
	JZ   sealAVX512MsgDone
	CMPQ CX, $8
	JB   sealAVX512MsgOne

sealAVX512MsgEight:
	ENC512(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ENC512(32, 48, X7, X0, X1, X2, X3, X4, X5, X6)
	ENC512(64, 80, X6, X7, X0, X1, X2, X3, X4, X5)
	ENC512(96, 112, X5, X6, X7, X0, X1, X2, X3, X4)
	ENC512(128, 144, X4, X5, X6, X7, X0, X1, X2, X3)
	ENC512(160, 176, X3, X4, X5, X6, X7, X0, X1, X2)
	ENC512(192, 208, X2, X3, X4, X5, X6, X7, X0, X1)
	ENC512(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  sealAVX512MsgEight
	TESTQ CX, CX
	JZ   sealAVX512MsgDone

sealAVX512MsgOne:
	ENC512(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sealAVX512MsgOne

sealAVX512MsgDone:
	MOVQ MSG_TAIL_LEN(AX), CX
	TESTQ CX, CX
	JZ   sealAVX512MsgTailDone
	LOAD_TAIL(MSG_TAIL, MSG_TAIL+8, MSG_TAIL+16, MSG_TAIL+24)
	KEYSTREAM(X0, X1, X2, X3, X4, X5, X6, X7)
	// Enc of the zero-padded plaintext; Go keeps the first n bytes.
	PXOR  X8, X12
	PXOR  X9, X13
	MOVOU X12, MSG_TAIL(AX)
	MOVOU X13, MSG_TAIL+16(AX)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

sealAVX512MsgTailDone:
	// Finalize: t = S2 ^ (LE64(ad bits) || LE64(msg bits)).
	MOVQ       LENS(AX), X10
	MOVQ       LENS+8(AX), X14
	PUNPCKLQDQ X14, X10
	PXOR       X2, X10
	FINAL_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	FINAL_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6)
	FINAL_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5)
	FINAL_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4)
	FINAL_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3)
	FINAL_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2)
	FINAL_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1)

	// Seven updates leave S_j in X_(j+1); the tag is S0 ^ ... ^ S6, which
	// is every register but X0 (S7).
	MOVQ  tag+96(FP), R8
	PXOR  X2, X1
	PXOR  X3, X1
	PXOR  X4, X1
	PXOR  X5, X1
	PXOR  X6, X1
	PXOR  X7, X1
	MOVOU X1, (R8)
	RET

// func openAVX512(key, nonce *[16]byte, ad, dst, src []byte, b *asmBlocks, tag *[16]byte)
TEXT ·openAVX512(SB), NOSPLIT, $0-104
	MOVQ b+88(FP), AX
	// Init(key, nonce).
	MOVQ  key+0(FP), R8
	MOVQ  nonce+8(FP), R9
	MOVOU (R8), X11          // key
	MOVOU (R9), X10          // nonce
	MOVOU c0<>(SB), X2       // S2 = C0
	MOVOU c1<>(SB), X1       // S1 = C1
	MOVO  X1, X3             // S3 = C1
	MOVO  X11, X0
	PXOR  X10, X0            // S0 = key ^ nonce
	MOVO  X0, X4             // S4 = key ^ nonce
	MOVO  X11, X5
	PXOR  X2, X5             // S5 = key ^ C0
	MOVO  X11, X6
	PXOR  X1, X6             // S6 = key ^ C1
	MOVO  X5, X7             // S7 = key ^ C0
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	INIT_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6)
	INIT_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5)
	INIT_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4)
	INIT_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3)
	INIT_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2)
	INIT_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1)
	INIT_UPDATE(X1, X2, X3, X4, X5, X6, X7, X0)
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

	MOVQ ad_base+16(FP), BX
	MOVQ ad_len+24(FP), DX
	// AD whole blocks, eight at a time, then singly.
	SHRQ $5, DX
	JZ   openAVX512ADDone
	CMPQ DX, $8
	JB   openAVX512ADOne

openAVX512ADEight:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ABSORB(32, 48, X7, X0, X1, X2, X3, X4, X5, X6)
	ABSORB(64, 80, X6, X7, X0, X1, X2, X3, X4, X5)
	ABSORB(96, 112, X5, X6, X7, X0, X1, X2, X3, X4)
	ABSORB(128, 144, X4, X5, X6, X7, X0, X1, X2, X3)
	ABSORB(160, 176, X3, X4, X5, X6, X7, X0, X1, X2)
	ABSORB(192, 208, X2, X3, X4, X5, X6, X7, X0, X1)
	ABSORB(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)
	ADDQ $256, BX
	SUBQ $8, DX
	CMPQ DX, $8
	JAE  openAVX512ADEight
	TESTQ DX, DX
	JZ   openAVX512ADDone

openAVX512ADOne:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, BX
	DECQ DX
	JNZ  openAVX512ADOne

openAVX512ADDone:
	CMPQ AD_TAIL_LEN(AX), $0
	JEQ  openAVX512ADTailDone
	LOAD_TAIL(AD_TAIL, AD_TAIL+8, AD_TAIL+16, AD_TAIL+24)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

openAVX512ADTailDone:

	MOVQ dst_base+40(FP), DI
	MOVQ src_base+64(FP), SI
	MOVQ src_len+72(FP), CX
	// Msg whole blocks, eight at a time, then singly.
	SHRQ $5, CX
	JZ   openAVX512MsgDone
	CMPQ CX, $8
	JB   openAVX512MsgOne

openAVX512MsgEight:
	DEC512(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	DEC512(32, 48, X7, X0, X1, X2, X3, X4, X5, X6)
	DEC512(64, 80, X6, X7, X0, X1, X2, X3, X4, X5)
	DEC512(96, 112, X5, X6, X7, X0, X1, X2, X3, X4)
	DEC512(128, 144, X4, X5, X6, X7, X0, X1, X2, X3)
	DEC512(160, 176, X3, X4, X5, X6, X7, X0, X1, X2)
	DEC512(192, 208, X2, X3, X4, X5, X6, X7, X0, X1)
	DEC512(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  openAVX512MsgEight
	TESTQ CX, CX
	JZ   openAVX512MsgDone

openAVX512MsgOne:
	DEC512(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  openAVX512MsgOne

openAVX512MsgDone:
	MOVQ MSG_TAIL_LEN(AX), CX
	TESTQ CX, CX
	JZ   openAVX512MsgTailDone
	LOAD_TAIL(MSG_TAIL, MSG_TAIL+8, MSG_TAIL+16, MSG_TAIL+24)
	KEYSTREAM(X0, X1, X2, X3, X4, X5, X6, X7)
	// DecPartial: Go keeps the first n bytes of ciphertext ^ keystream,
	// and the state absorbs them zero-padded, not the keystream bytes
	// that decrypting the padding leaves behind.
	PXOR  X12, X8
	PXOR  X13, X9
	MOVOU X8, MSG_TAIL(AX)
	MOVOU X9, MSG_TAIL+16(AX)
	LEAQ  mask<>+32(SB), R8
	SUBQ  CX, R8
	MOVOU (R8), X12
	MOVOU 16(R8), X13
	PAND  X12, X8
	PAND  X13, X9
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

openAVX512MsgTailDone:
	// Finalize: t = S2 ^ (LE64(ad bits) || LE64(msg bits)).
	MOVQ       LENS(AX), X10
	MOVQ       LENS+8(AX), X14
	PUNPCKLQDQ X14, X10
	PXOR       X2, X10
	FINAL_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7)
	FINAL_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6)
	FINAL_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5)
	FINAL_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4)
	FINAL_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3)
	FINAL_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2)
	FINAL_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1)

	// Seven updates leave S_j in X_(j+1); the tag is S0 ^ ... ^ S6, which
	// is every register but X0 (S7).
	MOVQ  tag+96(FP), R8
	PXOR  X2, X1
	PXOR  X3, X1
	PXOR  X4, X1
	PXOR  X5, X1
	PXOR  X6, X1
	PXOR  X7, X1
	MOVOU X1, (R8)
	RET
