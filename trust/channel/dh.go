package channel

import (
	"crypto/ecdh"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/flynn/noise"
)

// x25519 is noise's "25519" DH function on crypto/ecdh, made per handshake
// so that it can keep the ecdh private keys it generated. The library's own
// DH25519 rebuilds a private key from its bytes for every operation, which
// recomputes the public key: twice the scalar multiplications. Keys are
// only ever used by the handshake that generated them.
type x25519 struct {
	keys []*ecdh.PrivateKey // static and ephemeral, at most two
}

var _ noise.DHFunc = (*x25519)(nil)

func (x *x25519) GenerateKeypair(rng io.Reader) (noise.DHKey, error) {
	k, err := ecdh.X25519().GenerateKey(rng)
	if err != nil {
		return noise.DHKey{}, fmt.Errorf("x25519 key: %w", err)
	}
	x.keys = append(x.keys, k)
	return noise.DHKey{Private: k.Bytes(), Public: k.PublicKey().Bytes()}, nil
}

func (x *x25519) DH(private, public []byte) ([]byte, error) {
	var k *ecdh.PrivateKey
	for _, c := range x.keys {
		if subtle.ConstantTimeCompare(c.Bytes(), private) == 1 {
			k = c
			break
		}
	}
	if k == nil {
		var err error
		if k, err = ecdh.X25519().NewPrivateKey(private); err != nil {
			return nil, fmt.Errorf("x25519 private key: %w", err)
		}
	}
	p, err := ecdh.X25519().NewPublicKey(public)
	if err != nil {
		return nil, fmt.Errorf("x25519 public key: %w", err)
	}
	// ECDH refuses low-order points (an all-zero shared secret).
	return k.ECDH(p)
}

func (x *x25519) DHLen() int     { return 32 }
func (x *x25519) DHName() string { return "25519" }
