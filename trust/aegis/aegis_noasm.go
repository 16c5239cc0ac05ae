//go:build !amd64 || purego

package aegis

const bestImpl = implGeneric

// Stubs so the shared driver compiles; bestImpl keeps them unreachable.

func sealWithAsm(i impl, key, nonce *[16]byte, out, prefix, plaintext, ad []byte, tag *[16]byte) {
	panic("aegis: no assembly in this build")
}

func openWithAsm(i impl, key, nonce *[16]byte, out, ciphertext, ad []byte, tag *[16]byte) {
	panic("aegis: no assembly in this build")
}
