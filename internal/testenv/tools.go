package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireToolsEnv is the environment variable that turns a missing tool from a
// skip into a failure. CI sets it to 1 so integration tests cannot silently
// stop running.
const RequireToolsEnv = "SECURECACHED_REQUIRE_TOOLS"

// Require returns the path of tool (a name looked up in PATH and /usr/bin, or
// an absolute path). When it is missing the test is skipped, or fails when
// SECURECACHED_REQUIRE_TOOLS=1.
func Require(t testing.TB, tool string) string {
	t.Helper()
	if path, err := exec.LookPath(tool); err == nil {
		return path
	}
	if path, err := exec.LookPath("/usr/bin/" + tool); err == nil {
		return path
	}
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("%s not found and %s=1: install it (Debian: memcached, libmemcached-tools, iproute2, nutcracker, openssl, systemd; .ci/run installs them)", tool, RequireToolsEnv)
	}
	t.Skipf("%s not found; skipping (set %s=1 to make this a failure)", tool, RequireToolsEnv)
	return ""
}
