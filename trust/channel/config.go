package channel

import (
	"io"
	"log/slog"

	"github.com/securecached/securecached/trust"
)

// Default rekey bounds. AEGIS-128L with sequence-number nonces is safe far
// beyond these (its nonce is 128 bits and never repeats under one key);
// they keep the data under one key small, as TLS 1.3 does for AES-GCM.
const (
	DefaultRekeyMessages = 1 << 24
	DefaultRekeyBytes    = 1 << 34
)

// Config configures one side of a channel.
type Config struct {
	// Enclave is the local agent's enclave. If it is trusted, the local
	// side attests during the handshake. Nil or untrusted: no evidence.
	Enclave trust.Enclave
	// Verifier, if set, requires the peer to attest and its evidence to
	// satisfy the verifier's policy. A trusted agent sets it from its own
	// (measured) configuration for every peer that must be trusted; the
	// untrusted runtime's word that a peer is trusted is not enough.
	Verifier *trust.Verifier
	// RekeyMessages and RekeyBytes bound the records and plaintext bytes
	// sent under one key (defaults above; larger values are clamped).
	RekeyMessages uint64
	RekeyBytes    uint64
	// Logger receives refused-record and handshake-failure events
	// (slog.Default() if nil).
	Logger *slog.Logger
	// Name labels log lines, e.g. "agent 3 -> agent 7".
	Name string
	// Rand is the randomness source (crypto/rand if nil).
	Rand io.Reader
}

func (c *Config) limits() (msgs, bytes uint64) {
	msgs, bytes = c.RekeyMessages, c.RekeyBytes
	if msgs == 0 || msgs > DefaultRekeyMessages {
		msgs = DefaultRekeyMessages
	}
	if bytes == 0 || bytes > DefaultRekeyBytes {
		bytes = DefaultRekeyBytes
	}
	return msgs, bytes
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
