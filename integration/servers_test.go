package integration

import (
	"testing"

	"github.com/securecached/securecached/internal/testenv"
)

// trustModes are the two ways securecached's cache agent runs: in a
// (simulated) enclave, which is the default, and untrusted. The suite runs
// against both: the same code must behave the same either way.
var trustModes = []struct {
	name  string
	flags []string
}{
	{"trusted", nil},
	{"untrusted", []string{"--untrusted"}},
}

// bothServers runs fn against Debian's memcached and against securecached
// in both trust modes, each started fresh with the same flags. Running
// every behavioural test on memcached too proves the test expects what
// memcached really does.
func bothServers(t *testing.T, flags []string, fn func(t *testing.T, s *testenv.Server)) {
	t.Run("memcached", func(t *testing.T) { fn(t, testenv.StartMemcached(t, flags...)) })
	eachTrust(t, func(t *testing.T, trust []string) {
		fn(t, testenv.StartSecurecached(t, append(trust, flags...)...))
	})
}

// eachTrust runs fn once per trust mode, as subtests "securecached/<mode>",
// passing the flags that select the mode.
func eachTrust(t *testing.T, fn func(t *testing.T, trust []string)) {
	for _, m := range trustModes {
		t.Run("securecached/"+m.name, func(t *testing.T) { fn(t, m.flags) })
	}
}
