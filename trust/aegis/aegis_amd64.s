//go:build amd64 && !purego

#include "textflag.h"

// AEGIS-128L with AES-NI and SSE2, or with AVX-512VL in the bulk message
// loops: sealAsm and openAsm take a flag that picks the loop, and share
// everything else. Each function runs a whole message: the state S0..S7
// lives in X0..X7 from Init to Finalize and never touches memory. X8 and
// X9 carry an update's two message blocks, X10 and X11 Init's nonce and
// key or Finalize's t, X12 and X13 the keystream, X14 is scratch.
//
// AESENC rk, dst computes dst = AESRound(dst, rk), and Update needs
// S'i = AESRound(S(i-1), Si), so the natural destination for S'i is the
// register holding S(i-1). UPDATE does exactly that, with no register
// copies: afterwards S'i sits in the register that held S(i-1). The state
// thus rotates down one register per update; the loops unroll eight updates
// (EIGHT) so the mapping comes back to S_j in X_j, and ROTATE restores it
// after a single update. The macros take the current mapping as A0..A7.
//
// The assembler cannot give a macro's labels a fresh name per expansion,
// so only straight-line code is a macro; every loop is written out in
// sealAsm or openAsm.
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
#define MID 96
#define MID_LEN 128

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

// EIGHT runs OP (ABSORB, ENC, DEC, ENC512 or DEC512) on the eight blocks
// at offsets 0 to 255, which brings the state back to S_j in X_j.
#define EIGHT(OP) \
	OP(0, 16, X0, X1, X2, X3, X4, X5, X6, X7);    \
	OP(32, 48, X7, X0, X1, X2, X3, X4, X5, X6);   \
	OP(64, 80, X6, X7, X0, X1, X2, X3, X4, X5);   \
	OP(96, 112, X5, X6, X7, X0, X1, X2, X3, X4);  \
	OP(128, 144, X4, X5, X6, X7, X0, X1, X2, X3); \
	OP(160, 176, X3, X4, X5, X6, X7, X0, X1, X2); \
	OP(192, 208, X2, X3, X4, X5, X6, X7, X0, X1); \
	OP(224, 240, X1, X2, X3, X4, X5, X6, X7, X0)

// INIT is Init(key, nonce) with the key and nonce pointers in R8 and R9:
// S0 = S4 = key ^ nonce, S1 = S3 = C1, S2 = C0, S5 = S7 = key ^ C0,
// S6 = key ^ C1, then ten Update(nonce, key). It leaves S_j in X_j.
#define INIT \
	MOVOU (R8), X11;                             \
	MOVOU (R9), X10;                             \
	MOVOU c0<>(SB), X2;                          \
	MOVOU c1<>(SB), X1;                          \
	MOVO  X1, X3;                                \
	MOVO  X11, X0;                               \
	PXOR  X10, X0;                               \
	MOVO  X0, X4;                                \
	MOVO  X11, X5;                               \
	PXOR  X2, X5;                                \
	MOVO  X11, X6;                               \
	PXOR  X1, X6;                                \
	MOVO  X5, X7;                                \
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7); \
	INIT_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6); \
	INIT_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5); \
	INIT_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4); \
	INIT_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3); \
	INIT_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2); \
	INIT_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1); \
	INIT_UPDATE(X1, X2, X3, X4, X5, X6, X7, X0); \
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7); \
	ROTATE;                                      \
	INIT_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7); \
	ROTATE

// FINALIZE is Finalize with the asmBlocks in AX and S_j in X_j:
// t = S2 ^ (LE64(ad bits) || LE64(msg bits)), seven Update(t, t), then
// the tag S0 ^ ... ^ S6 in X1. Seven updates leave S_j in X_(j+1), so the
// tag is every register but X0 (S7).
#define FINALIZE \
	MOVQ       LENS(AX), X10;                     \
	MOVQ       LENS+8(AX), X14;                   \
	PUNPCKLQDQ X14, X10;                          \
	PXOR       X2, X10;                           \
	FINAL_UPDATE(X0, X1, X2, X3, X4, X5, X6, X7); \
	FINAL_UPDATE(X7, X0, X1, X2, X3, X4, X5, X6); \
	FINAL_UPDATE(X6, X7, X0, X1, X2, X3, X4, X5); \
	FINAL_UPDATE(X5, X6, X7, X0, X1, X2, X3, X4); \
	FINAL_UPDATE(X4, X5, X6, X7, X0, X1, X2, X3); \
	FINAL_UPDATE(X3, X4, X5, X6, X7, X0, X1, X2); \
	FINAL_UPDATE(X2, X3, X4, X5, X6, X7, X0, X1); \
	PXOR       X2, X1;                            \
	PXOR       X3, X1;                            \
	PXOR       X4, X1;                            \
	PXOR       X5, X1;                            \
	PXOR       X6, X1;                            \
	PXOR       X7, X1

// func sealAsm(key, nonce *[16]byte, ad, dst1, src1, dst2, src2 []byte, b *asmBlocks, tag *[16]byte, avx512 bool)
//
// The message is two regions of whole blocks with the mid block between
// them (msgSplit in aegis.go): R10 is 0 while the loops run over src1 and
// 1 once they run over src2.
TEXT ·sealAsm(SB), NOSPLIT, $0-153
	MOVQ b+136(FP), AX
	MOVQ key+0(FP), R8
	MOVQ nonce+8(FP), R9
	INIT

	MOVQ ad_base+16(FP), BX
	MOVQ ad_len+24(FP), DX
	// AD whole blocks, eight at a time, then singly.
	SHRQ $5, DX
	JZ   sealADDone
	CMPQ DX, $8
	JB   sealADOne

sealADEight:
	EIGHT(ABSORB)
	ADDQ $256, BX
	SUBQ $8, DX
	CMPQ DX, $8
	JAE  sealADEight
	TESTQ DX, DX
	JZ   sealADDone

sealADOne:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, BX
	DECQ DX
	JNZ  sealADOne

sealADDone:
	CMPQ AD_TAIL_LEN(AX), $0
	JEQ  sealADTailDone
	LOAD_TAIL(AD_TAIL, AD_TAIL+8, AD_TAIL+16, AD_TAIL+24)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

sealADTailDone:
	MOVQ dst1_base+40(FP), DI
	MOVQ src1_base+64(FP), SI
	MOVQ src1_len+72(FP), CX
	XORQ R10, R10

sealMsgRegion:
	// Msg whole blocks, eight at a time, then singly, with ENC512 if the
	// caller says the CPU has AVX-512VL.
	SHRQ $5, CX
	JZ   sealMsgDone
	CMPB avx512+152(FP), $0
	JNE  sealMsg512
	CMPQ CX, $8
	JB   sealMsgOne

sealMsgEight:
	EIGHT(ENC)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  sealMsgEight
	TESTQ CX, CX
	JZ   sealMsgDone

sealMsgOne:
	ENC(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sealMsgOne
	JMP  sealMsgDone

sealMsg512:
	CMPQ CX, $8
	JB   sealMsg512One

sealMsg512Eight:
	EIGHT(ENC512)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  sealMsg512Eight
	TESTQ CX, CX
	JZ   sealMsgDone

sealMsg512One:
	ENC512(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sealMsg512One

sealMsgDone:
	TESTQ R10, R10
	JNZ   sealMsgTail
	MOVQ  $1, R10
	CMPQ  MID_LEN(AX), $0
	JEQ   sealMidDone
	// The mid block is whole: Enc of it, written back for Go to copy.
	LOAD_TAIL(MID, MID+8, MID+16, MID+24)
	KEYSTREAM(X0, X1, X2, X3, X4, X5, X6, X7)
	PXOR  X8, X12
	PXOR  X9, X13
	MOVOU X12, MID(AX)
	MOVOU X13, MID+16(AX)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

sealMidDone:
	MOVQ dst2_base+88(FP), DI
	MOVQ src2_base+112(FP), SI
	MOVQ src2_len+120(FP), CX
	JMP  sealMsgRegion

sealMsgTail:
	MOVQ MSG_TAIL_LEN(AX), CX
	TESTQ CX, CX
	JZ   sealMsgTailDone
	LOAD_TAIL(MSG_TAIL, MSG_TAIL+8, MSG_TAIL+16, MSG_TAIL+24)
	KEYSTREAM(X0, X1, X2, X3, X4, X5, X6, X7)
	// Enc of the zero-padded plaintext; Go keeps the first n bytes.
	PXOR  X8, X12
	PXOR  X9, X13
	MOVOU X12, MSG_TAIL(AX)
	MOVOU X13, MSG_TAIL+16(AX)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

sealMsgTailDone:
	FINALIZE
	MOVQ  tag+144(FP), R8
	MOVOU X1, (R8)
	RET

// func openAsm(key, nonce *[16]byte, ad, dst, src []byte, b *asmBlocks, tag *[16]byte, avx512 bool)
TEXT ·openAsm(SB), NOSPLIT, $0-105
	MOVQ b+88(FP), AX
	MOVQ key+0(FP), R8
	MOVQ nonce+8(FP), R9
	INIT

	MOVQ ad_base+16(FP), BX
	MOVQ ad_len+24(FP), DX
	// AD whole blocks, eight at a time, then singly.
	SHRQ $5, DX
	JZ   openADDone
	CMPQ DX, $8
	JB   openADOne

openADEight:
	EIGHT(ABSORB)
	ADDQ $256, BX
	SUBQ $8, DX
	CMPQ DX, $8
	JAE  openADEight
	TESTQ DX, DX
	JZ   openADDone

openADOne:
	ABSORB(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, BX
	DECQ DX
	JNZ  openADOne

openADDone:
	CMPQ AD_TAIL_LEN(AX), $0
	JEQ  openADTailDone
	LOAD_TAIL(AD_TAIL, AD_TAIL+8, AD_TAIL+16, AD_TAIL+24)
	UPDATE(X8, X9, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE

openADTailDone:
	MOVQ dst_base+40(FP), DI
	MOVQ src_base+64(FP), SI
	MOVQ src_len+72(FP), CX
	// Msg whole blocks, eight at a time, then singly, with DEC512 if the
	// caller says the CPU has AVX-512VL.
	SHRQ $5, CX
	JZ   openMsgDone
	CMPB avx512+104(FP), $0
	JNE  openMsg512
	CMPQ CX, $8
	JB   openMsgOne

openMsgEight:
	EIGHT(DEC)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  openMsgEight
	TESTQ CX, CX
	JZ   openMsgDone

openMsgOne:
	DEC(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  openMsgOne
	JMP  openMsgDone

openMsg512:
	CMPQ CX, $8
	JB   openMsg512One

openMsg512Eight:
	EIGHT(DEC512)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JAE  openMsg512Eight
	TESTQ CX, CX
	JZ   openMsgDone

openMsg512One:
	DEC512(0, 16, X0, X1, X2, X3, X4, X5, X6, X7)
	ROTATE
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  openMsg512One

openMsgDone:
	MOVQ MSG_TAIL_LEN(AX), CX
	TESTQ CX, CX
	JZ   openMsgTailDone
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

openMsgTailDone:
	FINALIZE
	MOVQ  tag+96(FP), R8
	MOVOU X1, (R8)
	RET
