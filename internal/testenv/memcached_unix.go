package testenv

import (
	"os"
	"testing"
)

// StartMemcachedUnix starts Debian's memcached on the unix socket path (no
// TCP or UDP listener) with the given extra flags, so a test of -s can run
// against memcached as well as StartSecurecachedUnix.
func StartMemcachedUnix(t testing.TB, path string, args ...string) *Server {
	t.Helper()
	bin := Require(t, "memcached")
	a := []string{"-s", path}
	if os.Geteuid() == 0 {
		a = append(a, "-u", "root") // memcached refuses to run as root without -u
	}
	s, err := start(t, bin, append(a, args...), "unix", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
