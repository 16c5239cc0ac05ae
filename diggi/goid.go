package diggi

import "runtime"

// goid returns the calling goroutine's id. Go deliberately hides goroutine
// identity, but the baton needs it: a blocking call must release the baton
// only if its caller holds it, and unmodified Go code (net/http, crypto/tls)
// calls our net.Conn adapters from goroutines of its own that never held it.
// The runtime.Stack header "goroutine N [" is stable across Go releases.
// It costs about a microsecond, so it is called once per worker goroutine
// and once per blocking call, never per message.
func goid() uint64 {
	var buf [40]byte
	n := runtime.Stack(buf[:], false)
	const prefix = len("goroutine ")
	var id uint64
	for _, c := range buf[prefix:n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
