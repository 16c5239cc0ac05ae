package trust

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// SealPolicy says which identity a sealed blob is bound to.
type SealPolicy uint8

const (
	// SealToMeasurement: only the same code and configuration can unseal.
	SealToMeasurement SealPolicy = 1
	// SealToSigner: any agent from the same signer can unseal (survives upgrades).
	SealToSigner SealPolicy = 2
)

func (p SealPolicy) String() string {
	switch p {
	case SealToMeasurement:
		return "measurement"
	case SealToSigner:
		return "signer"
	}
	return fmt.Sprintf("SealPolicy(%d)", uint8(p))
}

// SealVersion is the sealed blob format version.
const SealVersion = 1

var sealMagic = [4]byte{'D', 'G', 'S', 'L'}

const (
	sealSaltLen  = 16
	sealNonceLen = 12
	maxSealBlob  = 64 << 20
)

// keyFunc derives the sealing key for a policy and per-blob salt.
type keyFunc func(policy SealPolicy, salt []byte) ([]byte, error)

// SealKeyFunc derives the AEAD key (32 bytes) for a policy and a blob's
// salt. A backend builds it from its hardware key (see DeriveSealKey).
type SealKeyFunc = keyFunc

// SealBlob seals plaintext in the format every backend shares, with keys
// from derive. Backends other than sim call it from their Enclave.Seal.
func SealBlob(backend string, policy SealPolicy, plaintext, aad []byte, derive SealKeyFunc) ([]byte, error) {
	return seal(backend, policy, plaintext, aad, derive)
}

// UnsealBlob reverses SealBlob.
func UnsealBlob(backend string, blob, aad []byte, derive SealKeyFunc) ([]byte, error) {
	return unseal(backend, blob, aad, derive)
}

// DeriveSealKey derives a blob's AEAD key from a secret only the enclave
// can obtain (sim's platform secret, SNP's firmware-derived key), the
// policy, the identity the policy names and the blob's salt, the way
// SGX's EGETKEY mixes the CPU's fused secret with MRENCLAVE or MRSIGNER.
func DeriveSealKey(secret []byte, policy SealPolicy, id, salt []byte) ([]byte, error) {
	info := append([]byte("diggi-seal-v1\x00"), byte(policy))
	info = append(info, id...)
	key, err := hkdf.Key(sha256.New, secret, salt, string(info), 32)
	if err != nil {
		return nil, fmt.Errorf("derive seal key: %w", err)
	}
	return key, nil
}

// Sealed blob layout:
//
//	magic "DGSL" | version u8 | policy u8 | len u8 | backend | salt[16] | nonce[12] | AES-256-GCM(plaintext)
//
// Everything before the ciphertext is authenticated as additional data,
// together with the caller's aad, so the recorded policy cannot be changed.
func seal(backend string, policy SealPolicy, plaintext, aad []byte, derive keyFunc) ([]byte, error) {
	if policy != SealToMeasurement && policy != SealToSigner {
		return nil, fmt.Errorf("seal: unknown policy %d", policy)
	}
	hdr := make([]byte, 0, 7+len(backend)+sealSaltLen+sealNonceLen+len(plaintext)+16)
	hdr = append(hdr, sealMagic[:]...)
	hdr = append(hdr, SealVersion, byte(policy), byte(len(backend)))
	hdr = append(hdr, backend...)
	rnd := make([]byte, sealSaltLen+sealNonceLen)
	if _, err := rand.Read(rnd); err != nil {
		return nil, fmt.Errorf("seal: random: %w", err)
	}
	hdr = append(hdr, rnd...)
	salt, nonce := rnd[:sealSaltLen], rnd[sealSaltLen:]
	aead, err := sealAEAD(derive, policy, salt)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead.Seal(hdr, nonce, plaintext, sealAAD(hdr, aad)), nil
}

func unseal(backend string, blob, aad []byte, derive keyFunc) ([]byte, error) {
	if len(blob) > maxSealBlob {
		return nil, fmt.Errorf("%w: %d bytes", ErrSealedMalformed, len(blob))
	}
	r := reader{b: blob}
	magic := r.take(4)
	version := r.u8()
	policy := SealPolicy(r.u8())
	name := r.take(int(r.u8()))
	salt := r.take(sealSaltLen)
	nonce := r.take(sealNonceLen)
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealedMalformed, r.err)
	}
	if string(magic) != string(sealMagic[:]) {
		return nil, fmt.Errorf("%w: bad magic", ErrSealedMalformed)
	}
	if version != SealVersion {
		return nil, fmt.Errorf("%w: version %d", ErrSealVersion, version)
	}
	if string(name) != backend {
		return nil, fmt.Errorf("%w: sealed by backend %q, this is %q", ErrUnseal, name, backend)
	}
	if policy != SealToMeasurement && policy != SealToSigner {
		return nil, fmt.Errorf("%w: unknown policy %d", ErrSealedMalformed, policy)
	}
	hdr := blob[:len(blob)-len(r.b)]
	aead, err := sealAEAD(derive, policy, salt)
	if err != nil {
		return nil, fmt.Errorf("unseal: %w", err)
	}
	pt, err := aead.Open(nil, nonce, r.b, sealAAD(hdr, aad))
	if err != nil {
		return nil, fmt.Errorf("%w (policy %s)", ErrUnseal, policy)
	}
	return pt, nil
}

func sealAEAD(derive keyFunc, policy SealPolicy, salt []byte) (cipher.AEAD, error) {
	key, err := derive(policy, salt)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealAAD(hdr, aad []byte) []byte {
	out := make([]byte, 0, len(hdr)+len(aad))
	return append(append(out, hdr...), aad...)
}
