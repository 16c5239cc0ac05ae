package ratls

import (
	"encoding/hex"
	"strings"
)

// nonceSuffix ends a server name that carries a client nonce. ".invalid"
// is reserved (RFC 2606), so such a name never collides with a real host.
const nonceSuffix = ".ratls-nonce.invalid"

// NonceServerName encodes a 32-byte nonce as a TLS server name: two
// 32-hex-digit labels (DNS labels hold at most 63 characters).
func NonceServerName(nonce [32]byte) string {
	h := hex.EncodeToString(nonce[:])
	return h[:32] + "." + h[32:] + nonceSuffix
}

// ParseNonceServerName decodes a name made by NonceServerName.
func ParseNonceServerName(name string) ([32]byte, bool) {
	var nonce [32]byte
	rest, ok := strings.CutSuffix(strings.ToLower(name), nonceSuffix)
	if !ok || len(rest) != 65 || rest[32] != '.' {
		return nonce, false
	}
	if _, err := hex.Decode(nonce[:16], []byte(rest[:32])); err != nil {
		return nonce, false
	}
	if _, err := hex.Decode(nonce[16:], []byte(rest[33:])); err != nil {
		return nonce, false
	}
	return nonce, true
}
