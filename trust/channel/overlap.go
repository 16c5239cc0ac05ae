package channel

import "unsafe"

// anyOverlap reports whether x and y share memory. cipher.AEAD panics on
// inexact overlap of input and output; Seal and Open check first and
// return ErrOverlap instead, since misuse must not crash an agent.
func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}

// badOverlap reports whether in overlaps out other than by starting
// exactly at out's first byte (the one in-place layout AEADs allow).
func badOverlap(out, in []byte) bool {
	if !anyOverlap(out, in) {
		return false
	}
	return &out[0] != &in[0]
}
