package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// SecurecachedBinary builds cmd/securecached once per test binary (with
// -race when the tests themselves run with -race) into a temporary
// directory and returns its path. The directory is removed by
// Cleanup (call it from TestMain) or left in the OS temp dir otherwise.
func SecurecachedBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "securecached-test-")
		if err != nil {
			buildErr = fmt.Errorf("temp dir for securecached: %w", err)
			return
		}
		buildPath = filepath.Join(dir, "securecached")
		args := []string{"build", "-o", buildPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/securecached/securecached/cmd/securecached")...)
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build securecached: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Cleanup removes the binary SecurecachedBinary built; TestMain calls it
// after m.Run so no temp directories are left behind.
func Cleanup() {
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
}

// moduleRoot is the directory of go.mod, found from this source file so
// tests in any package build the same binary.
func moduleRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// StateDir is the state directory (sim platform identity) the securecached
// processes of this test binary share unless a test passes --state-dir:
// tests never touch the user's own ~/.local/state/securecached.
func StateDir() string {
	if buildPath != "" {
		return filepath.Join(filepath.Dir(buildPath), "state")
	}
	return filepath.Join(os.TempDir(), "securecached-test-state")
}

func stateEnv() []string { return []string{"STATE_DIRECTORY=" + StateDir()} }
