package protocol

// Limits memcached 1.6 applies while reading requests. They bound how much a
// parser ever buffers.
const (
	// KeyMaxLength is the longest key memcached accepts (KEY_MAX_LENGTH).
	KeyMaxLength = 250

	// MaxLineLength is how many bytes memcached buffers without seeing a
	// newline before it decides the client is sending junk and closes the
	// connection. Only retrievals ("get ", "gets ", and here "gat ",
	// "gats ") may grow beyond it.
	MaxLineLength = 2048

	// MaxGetLineLength bounds a multi-get line. Memcached grows its read
	// buffer without limit for these; we stop at 256 KiB (1000 keys of 250
	// bytes, or 128K one-byte keys) so a client cannot make a connection
	// buffer unbounded memory, and close the connection as memcached does
	// for junk lines.
	MaxGetLineLength = 256 << 10

	// MaxTokens is memcached's tokenizer limit (MAX_TOKENS): at most
	// MaxTokens-1 tokens are split off a line, the terminal slot holding the
	// rest.
	MaxTokens = 24

	// metaMaxTokens is MFLAG_MAX_OPT_LENGTH: meta commands with more tokens
	// (command, key, flags and the terminal slot) are refused.
	metaMaxTokens = 20

	// metaMaxOpaqueLength is MFLAG_MAX_OPAQUE_LENGTH, counting the 'O'.
	metaMaxOpaqueLength = 32

	// DefaultMaxItemSize is memcached's default -I (1 MiB).
	DefaultMaxItemSize = 1 << 20
)
