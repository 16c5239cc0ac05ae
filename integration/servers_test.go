package integration

import (
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

// bothServers runs fn against Debian's memcached and against securecached,
// each started fresh with the same flags. Running every behavioural test on
// memcached too proves the test expects what memcached really does.
func bothServers(t *testing.T, flags []string, fn func(t *testing.T, s *testenv.Server)) {
	t.Run("memcached", func(t *testing.T) { fn(t, testenv.StartMemcached(t, flags...)) })
	t.Run("securecached", func(t *testing.T) { fn(t, testenv.StartSecurecached(t, flags...)) })
}
